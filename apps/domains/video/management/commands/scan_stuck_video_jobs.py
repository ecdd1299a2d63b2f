"""ARCHITECTURE §4 Video, operators: reconcile video_transcode jobs with their heartbeats and with AWS Batch.

`run_scheduler` does this on its own every few seconds; this is the one-shot for an operator, `--dry-run` first.
One line per job, then a summary.
"""

from django.core.management.base import BaseCommand

from apps.domains.video.ops import video_jobs_scan


class Command(BaseCommand):
    help = "멈춘 영상 변환 작업을 배치 상태와 맞춰 다시 제출하거나 중단 처리합니다."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="바꾸지 않고 할 일만 출력")

    def handle(self, *args, dry_run, **options):
        report = video_jobs_scan(dry_run=dry_run)
        for line in report.lines:
            self.stdout.write(line.render())
        if report.describe_error:
            self.stdout.write(f"batch describe failed, Batch reconcile skipped: {report.describe_error}")
        counts = " ".join(f"{name}={count}" for name, count in sorted(report.summary().items()))
        self.stdout.write(f"scan_stuck_video_jobs{' (dry run)' if dry_run else ''}: {counts or 'nothing to do'}")
