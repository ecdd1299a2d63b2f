"""Creates the demo academy for `make run` (admin, teachers, students, lectures, attendance); safe on every start."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.models import Role, Tenant, User


class Command(BaseCommand):
    help = ("Create (or reset) the demo tenant, its admin, teachers, students, lectures and attendance, "
            "and write a sample roster to upload. Running it again creates nothing new.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="academy-demo-1234")
        parser.add_argument("--sample-roster", type=Path, default=None,
                            help="where to write the sample roster (default var/demo/sample_roster.xlsx)")

    def handle(self, *args, username, password, sample_roster, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo is for local development only (DEBUG is off).")
        # A shell over the domains: imported here so apps.core itself never depends on them.
        from apps.domains.enrollment import demo

        tenant, _ = Tenant.objects.get_or_create(code="demo", defaults={"name": "데모 학원"})
        user, _ = User.objects.get_or_create(username=username, defaults={"tenant": tenant, "role": Role.OWNER})
        user.tenant, user.role, user.is_staff, user.is_superuser = tenant, Role.OWNER, True, True
        user.set_password(password)
        user.save()
        result = demo.demo_academy_seed(tenant=tenant, today=timezone.localdate())
        roster = demo.demo_sample_roster_write(
            path=(sample_roster or Path(settings.BASE_DIR) / "var" / "demo" / "sample_roster.xlsx").resolve())

        created = ", ".join(f"{name} {count}" for name, count in result.created.items())
        lines = [
            f"demo tenant: {tenant.code}",
            f"admin login: {username} / {password}",
            *(f"teacher login: {login} / {demo.TEACHER_PASSWORD} ({name})" for login, name in result.teachers),
        ]
        if result.student_login:
            login, name = result.student_login
            lines.append(f"student login: {login} / {demo.STUDENT_PASSWORD} ({name})")
        lines += self._parent_login(tenant, result)
        lines += [
            f"created this run: {created}",
            f"sample roster to upload: {roster}",
            "phones 010-5555-xxxx in the demo are made up",
            f"API docs: {settings.API_BASE_URL}/api/docs/  admin: {settings.API_BASE_URL}/admin/",
        ]
        self.stdout.write("\n".join(lines))

    def _parent_login(self, tenant, result) -> list[str]:
        """The demo student's parent, activated: academy code + phone + password (docs/parents.md)."""
        from apps.domains.accounts import demo as accounts_demo
        from apps.domains.students.models import Student

        login = result.student_login[0] if result.student_login else None
        student = Student.objects.filter(tenant=tenant, user__username=login).first() if login else None
        parent = accounts_demo.demo_parent_seed(tenant=tenant, student=student)
        if parent is None:
            return []
        return [f"parent login: academy {parent.academy} / phone {parent.phone} / {accounts_demo.PARENT_PASSWORD} "
                f"({', '.join(parent.children)}의 학부모)"]
