"""ARCHITECTURE §5: `manage.py run_worker <fleet>`, one launch command for every queue fleet."""

import sys

from django.core.management.base import BaseCommand

from apps.jobs.fleets import fleet_names
from apps.worker.runtime import build_runtime


class Command(BaseCommand):
    help = "큐 작업자를 실행합니다 (SIGTERM으로 안전하게 종료)."
    # A worker serves no URL: the system checks would import every API module (and with them OpenCV, numpy and the
    # PDF libraries the exams API uses), about 70 MB a messaging worker never needs. `manage.py check` and the
    # API's own start run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("fleet", choices=fleet_names())
        parser.add_argument("--max-polls", type=int, default=None, help="이 횟수만큼 큐를 조회한 뒤 종료")

    def handle(self, *args, fleet, max_polls, **options):
        code = build_runtime(fleet).run(max_polls=max_polls)
        if code:
            sys.exit(code)
