"""ARCHITECTURE §5: `manage.py run_scheduler`, the one periodic process (apps/jobs/scheduler.py)."""

from django.core.management.base import BaseCommand, CommandError

from apps.jobs.scheduler import Scheduler


class Command(BaseCommand):
    help = "작업 스케줄러를 실행합니다: 예정된 작업 발송, 멈춘 작업 복구, 배치 대조, 주기 작업 (SIGTERM으로 종료)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="주기(초)")
        parser.add_argument("--max-ticks", type=int, default=None, help="이 횟수만큼 돈 뒤 종료")

    def handle(self, *args, interval, max_ticks, **options):
        if interval is not None and interval <= 0:
            raise CommandError("--interval must be positive")
        Scheduler(interval=interval).run(max_ticks=max_ticks)
