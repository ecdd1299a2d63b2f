from django.apps import AppConfig


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
