from django.apps import AppConfig

HANDLERS = "apps.domains.enrollment.handlers"


class EnrollmentConfig(AppConfig):
    name = "apps.domains.enrollment"
    label = "enrollment"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register
        from apps.jobs.scheduler import PeriodicTask, register_periodic

        # ARCHITECTURE §4: both kinds run on the excel fleet. The worker beats every 10 s, so 30 s without a
        # heartbeat means it died (docs/jobs.md); three attempts cover a redeploy and a storage blip. One academy's
        # burst holds at most EXCEL_MAX_RUNNING_PER_TENANT workers, so another academy's import waits one job at most.
        register(JobKindSpec(
            kind="excel_import", backend="queue", queue_setting="SQS_QUEUE_EXCEL",
            handler=f"{HANDLERS}.excel_import", heartbeat_timeout=30, max_attempts=3,
            on_terminal=f"{HANDLERS}.excel_import_cleanup", max_running_per_tenant="EXCEL_MAX_RUNNING_PER_TENANT",
        ))
        register(JobKindSpec(
            kind="excel_export", backend="queue", queue_setting="SQS_QUEUE_EXCEL",
            handler=f"{HANDLERS}.excel_export", heartbeat_timeout=30, max_attempts=3,
            present_result=f"{HANDLERS}.excel_export_present", max_running_per_tenant="EXCEL_MAX_RUNNING_PER_TENANT",
        ))
        # Exports are downloaded within minutes; the scheduler deletes them once EXCEL_EXPORT_RETENTION_HOURS old.
        register_periodic(PeriodicTask(name="purge_expired_exports",
                                       function="apps.domains.enrollment.periodic.purge_expired_exports",
                                       every_seconds=3600))
