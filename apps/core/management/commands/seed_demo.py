"""Creates the demo tenant and its admin for `make run`; safe to run on every start."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.models import Role, Tenant, User


class Command(BaseCommand):
    help = "Create (or reset) the demo tenant and its admin account for local development."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="academy-demo-1234")

    def handle(self, *args, username, password, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo is for local development only (DEBUG is off).")
        tenant, _ = Tenant.objects.get_or_create(code="demo", defaults={"name": "데모 학원"})
        user, _ = User.objects.get_or_create(username=username, defaults={"tenant": tenant, "role": Role.OWNER})
        user.tenant, user.role, user.is_staff, user.is_superuser = tenant, Role.OWNER, True, True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"demo tenant: {tenant.code}\nadmin login: {username} / {password}\n"
            f"API docs: {settings.API_BASE_URL}/api/docs/  admin: {settings.API_BASE_URL}/admin/"
        )
