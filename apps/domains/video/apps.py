from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "apps.domains.video"
    label = "video"
    verbose_name = "강의 영상"

    def ready(self):
        from django.conf import settings

        from apps.jobs.registry import JobKindSpec, register
        from apps.jobs.scheduler import PeriodicTask, register_periodic

        from .models import TRANSCODE_KIND

        # Transcodes run on AWS Batch; retries are ours (the job definition sets retryStrategy attempts=1).
        register(JobKindSpec(
            kind=TRANSCODE_KIND,
            backend="batch",
            queue_setting=None,
            handler="apps.domains.video.handlers.video_transcode",
            heartbeat_timeout=settings.VIDEO_HEARTBEAT_TIMEOUT_SECONDS,
            max_attempts=settings.VIDEO_MAX_ATTEMPTS,
            on_terminal="apps.domains.video.handlers.video_job_finished",
            max_running_per_tenant="VIDEO_MAX_RUNNING_PER_TENANT",
            max_running_global="VIDEO_MAX_RUNNING_GLOBAL",
        ))
        # Watch progress of ended enrollments, and stale player rows (docs/decisions/0025).
        register_periodic(PeriodicTask(name="purge_video_progress",
                                       function="apps.domains.video.progress.video_progress_purge",
                                       every_seconds=24 * 3600))
