from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "apps.domains.messaging"
    label = "messaging"
    verbose_name = "문자"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register
        from apps.jobs.scheduler import PeriodicTask, register_periodic

        # A send's recipients go out in batches of MESSAGING_BATCH_SIZE, each taken PENDING → SENDING before the
        # provider is called, so a retried attempt sends only what no attempt took (handlers.py).
        register(JobKindSpec(
            kind="message_send", backend="queue", queue_setting="SQS_QUEUE_MESSAGING",
            handler="apps.domains.messaging.handlers.message_send", heartbeat_timeout=30, max_attempts=5,
            on_terminal="apps.domains.messaging.handlers.message_send_ended",
        ))
        # Bodies and full phone numbers are kept MESSAGING_RETENTION_DAYS, then masked in bounded passes (retention.py).
        register_periodic(PeriodicTask(name="mask_expired_messages",
                                       function="apps.domains.messaging.retention.mask_expired_messages",
                                       every_seconds=3600))
        # Settles what a dead worker or a lost answer left SENDING/UNKNOWN, and polls accepted messages' delivery
        # (reconcile.py); sends held recipients once their not_before comes (delivery.py).
        register_periodic(PeriodicTask(name="messages_reconcile",
                                       function="apps.domains.messaging.reconcile.messages_reconcile_task",
                                       every_seconds=60))
        register_periodic(PeriodicTask(name="dispatch_held_messages",
                                       function="apps.domains.messaging.delivery.dispatch_held_messages",
                                       every_seconds=30))
        # Kakao reviews AlimTalk templates in hours to days; asking every 10 minutes keeps PENDING short-lived
        # without a webhook (catalog.sync_alimtalk_templates, bounded per pass).
        register_periodic(PeriodicTask(name="sync_alimtalk_templates",
                                       function="apps.domains.messaging.catalog.sync_alimtalk_templates",
                                       every_seconds=600))
        # An ABSENT/LATE mark's notice goes out once its grace period is over (notices.py); 30 s late at most.
        register_periodic(PeriodicTask(name="fire_due_notices",
                                       function="apps.domains.messaging.notices.fire_due_notices",
                                       every_seconds=30))
