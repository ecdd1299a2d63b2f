from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "apps.domains.messaging"
    label = "messaging"
    verbose_name = "문자"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register

        # A send's recipients go out in batches of MESSAGING_BATCH_SIZE, each taken PENDING → SENDING before the
        # provider is called, so a retried attempt sends only what no attempt took (handlers.py).
        register(JobKindSpec(
            kind="message_send", backend="queue", queue_setting="SQS_QUEUE_MESSAGING",
            handler="apps.domains.messaging.handlers.message_send", heartbeat_timeout=30, max_attempts=5,
        ))
        # An ABSENT/LATE mark's notice goes out once its grace period is over (notices.py); 30 s late at most.
        from apps.jobs.scheduler import PeriodicTask, register_periodic

        register_periodic(PeriodicTask(name="fire_due_notices",
                                       function="apps.domains.messaging.notices.fire_due_notices",
                                       every_seconds=30))
