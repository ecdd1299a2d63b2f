from django.apps import AppConfig

HANDLERS = "apps.domains.exams.handlers"


class ExamsConfig(AppConfig):
    name = "apps.domains.exams"
    label = "exams"

    def ready(self):
        from apps.jobs.registry import JobKindSpec, register

        # Results export: on the excel fleet with the roster export's limits (apps/domains/enrollment/apps.py).
        register(JobKindSpec(
            kind="exam_results_export", backend="queue", queue_setting="SQS_QUEUE_EXCEL",
            handler="apps.domains.exams.results_export.exam_results_export", heartbeat_timeout=30, max_attempts=3,
            present_result="apps.domains.exams.results_export.exam_results_export_present",
            max_running_per_tenant="EXCEL_MAX_RUNNING_PER_TENANT",
        ))
        from apps.jobs.scheduler import PeriodicTask, register_periodic

        # ARCHITECTURE §4 AI: OMR grading on the basic tier (premium for a premium academy, apps/jobs/tiers.py) with
        # the AI lease and run cap. Each page is recorded as graded, so three attempts (a redeploy, a storage blip)
        # grade each page once between them (handlers.py).
        register(JobKindSpec(
            kind="omr_grading", backend="queue", queue_setting=None, tier="basic",
            handler=f"{HANDLERS}.omr_grading", heartbeat_timeout=30, max_attempts=3,
            on_terminal=f"{HANDLERS}.omr_grading_ended",
        ))
        # Scans and aligned images are minors' handwriting: deleted after EXAM_SCAN_RETENTION_DAYS (retention.py).
        register_periodic(PeriodicTask(name="purge_expired_exam_scans",
                                       function="apps.domains.exams.retention.purge_expired_exam_scans",
                                       every_seconds=86400))
