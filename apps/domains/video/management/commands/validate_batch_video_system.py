"""ARCHITECTURE §4 Video, operators: the runbook's checks in one command, `NAME: OK|FAIL <reason>` each.

Exit code 0 when every check passes (SYSTEM_STATUS: OK), 1 otherwise (SYSTEM_STATUS: NEEDS_ATTENTION).
"""

import sys

from django.core.management.base import BaseCommand

from apps.domains.video.ops import video_system_validate


class Command(BaseCommand):
    help = "영상 변환 시스템(DB, 배치 큐와 작업 정의, 로그, 멈춘 작업, IAM 역할)을 점검합니다."

    def handle(self, *args, **options):
        checks = video_system_validate()
        for check in checks:
            self.stdout.write(check.render())
        ok = all(check.ok for check in checks)
        self.stdout.write(f"SYSTEM_STATUS: {'OK' if ok else 'NEEDS_ATTENTION'}")
        if not ok:
            sys.exit(1)
