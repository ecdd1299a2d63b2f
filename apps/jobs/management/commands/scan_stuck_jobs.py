"""ARCHITECTURE §5, the one-shot scan: what one pass of `run_scheduler` does with jobs (apps/jobs/scheduler.py), for
an operator: requeue or kill jobs whose heartbeat stopped, send due jobs never dispatched, and requeue Batch runs the
backend reports ended. Periodic tasks are left to the scheduler.

Safe next to a running scheduler and workers: each change is a guarded transition.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.jobs.errors import UnknownJobKindError
from apps.jobs.registry import get_spec
from apps.jobs.services import BATCH_RECONCILE_GRACE_SECONDS, job_reconcile_batch, job_scan_stuck

SUMMARY_ORDER = ["timed_out", "requeued", "requeued_waiting", "requeued_dispatch_failed", "dead", "redispatched",
                 "waiting", "redispatch_failed", "would_time_out", "would_requeue", "would_kill", "would_redispatch",
                 "would_wait"]
BATCH_SUMMARY_ORDER = ["resubmitted", "requeued_waiting", "resubmit_failed", "dead", "skipped", "would_resubmit",
                       "would_kill"]


class Command(BaseCommand):
    help = "멈춘 작업을 다시 대기열에 넣거나 중단 처리하고, 발송되지 않은 작업과 배치에서 끝난 작업을 다시 보냅니다."

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
        handled = frozenset(job.id for _, job in report.actions)
        lines, describe_error = job_reconcile_batch(kind=kind, dry_run=dry_run, exclude_ids=handled,
                                                    grace_seconds=BATCH_RECONCILE_GRACE_SECONDS)
        for line in lines:
            job = line.job
            self.stdout.write(f"batch_{line.action} {job.id} kind={job.kind} tenant={job.tenant_id} "
                              f"attempts={job.attempts}/{job.max_attempts} reason={line.reason}")
        if describe_error:
            self.stderr.write(f"batch not asked: {describe_error}")
        counts = [f"{name}={report.count(name)}" for name in SUMMARY_ORDER if report.count(name)]
        for name in BATCH_SUMMARY_ORDER:
            found = sum(1 for line in lines if line.action == name)
            if found:
                counts.append(f"batch_{name}={found}")
        self.stdout.write(f"scan_stuck_jobs{' (dry run)' if dry_run else ''}: {' '.join(counts) or 'nothing to do'}")
