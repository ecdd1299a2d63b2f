"""Operator check after the guardian-consent rule (docs/accounts.md): active student logins it would hold."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.models import Tenant
from apps.domains.students.accounts import student_logins_awaiting_consent, student_logins_hold_for_consent


class Command(BaseCommand):
    help = ("List active student logins that the guardian-consent rule (under 14, or age unknown and not a high "
            "school student, with no recorded consent) would hold. --apply deactivates them, ending their tokens; "
            "recording a consent or a birth date of 14 or more activates each again.")

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="deactivate the listed logins")
        parser.add_argument("--tenant", metavar="CODE", help="limit to one tenant code")

    def handle(self, *args, apply=False, tenant=None, **options):
        scope = None
        if tenant:
            scope = Tenant.objects.filter(code=tenant).first()
            if scope is None:
                raise CommandError(f"unknown tenant code: {tenant}")
        students = (student_logins_hold_for_consent if apply else student_logins_awaiting_consent)(tenant=scope)
        for student in students:
            reason = "age unknown" if student.birth_date is None else "under 14"
            self.stdout.write(f"tenant={student.tenant.code} student={student.id} login={student.user.username} "
                              f"({reason}, no consent)")
        verb = "held" if apply else "would hold"
        self.stdout.write(f"{verb}: {len(students)} login(s)")
