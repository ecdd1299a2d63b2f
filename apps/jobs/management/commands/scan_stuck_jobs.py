"""ARCHITECTURE §2, the scanner: requeue or kill jobs whose heartbeat stopped, re-send jobs never dispatched.

Safe to run every minute from cron or EventBridge: each change is a guarded transition.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.jobs.errors import UnknownJobKindError
from apps.jobs.registry import get_spec
from apps.jobs.services import job_scan_stuck

SUMMARY_ORDER = ["requeued", "requeued_waiting", "requeued_dispatch_failed", "dead", "redispatched", "waiting",
                 "redispatch_failed", "would_requeue", "would_kill", "would_redispatch", "would_wait"]


class Command(BaseCommand):
    help = "멈춘 작업을 다시 대기열에 넣거나 중단 처리하고, 발송되지 않은 작업을 다시 보냅니다."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="바꾸지 않고 할 일만 출력")
        parser.add_argument("--kind", default=None, help="이 종류의 작업만")

    def handle(self, *args, dry_run, kind, **options):
        if kind is not None:
            try:
                get_spec(kind)
            except UnknownJobKindError:
                raise CommandError(f"unknown job kind: {kind}")
        report = job_scan_stuck(kind=kind, dry_run=dry_run)
        for action, job in report.actions:
            self.stdout.write(
                f"{action} {job.id} kind={job.kind} tenant={job.tenant_id} attempts={job.attempts}/{job.max_attempts}"
            )
        counts = " ".join(f"{name}={report.count(name)}" for name in SUMMARY_ORDER if report.count(name))
        self.stdout.write(f"scan_stuck_jobs{' (dry run)' if dry_run else ''}: {counts or 'nothing to do'}")
