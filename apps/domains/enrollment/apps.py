from django.apps import AppConfig

HANDLERS = "apps.domains.enrollment.handlers"


class EnrollmentConfig(AppConfig):
    name = "apps.domains.enrollment"
    label = "enrollment"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register

        # ARCHITECTURE §4: both kinds run on the excel fleet. A 100,000-row roster imports in seconds, so two
        # minutes without a heartbeat means the worker died; three attempts cover a redeploy and a storage blip.
        register(JobKindSpec(
            kind="excel_import", backend="queue", queue_setting="SQS_QUEUE_EXCEL",
            handler=f"{HANDLERS}.excel_import", heartbeat_timeout=120, max_attempts=3,
            on_terminal=f"{HANDLERS}.excel_import_cleanup",
        ))
        register(JobKindSpec(
            kind="excel_export", backend="queue", queue_setting="SQS_QUEUE_EXCEL",
            handler=f"{HANDLERS}.excel_export", heartbeat_timeout=120, max_attempts=3,
            present_result=f"{HANDLERS}.excel_export_present",
        ))
