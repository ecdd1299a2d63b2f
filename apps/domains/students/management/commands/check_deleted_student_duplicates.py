"""Operator repair: deleted students sharing (tenant, name, parent phone); same service as the admin API."""

from django.core.management.base import BaseCommand, CommandError

from apps.core.logging import mask_phone
from apps.core.models import Tenant
from apps.domains.students.selectors import student_deleted_duplicates
from apps.domains.students.services import student_deleted_duplicates_fix


class Command(BaseCommand):
    help = ("Find soft-deleted students sharing tenant, name and parent phone. Without a flag (or with "
            "--dry-run) only prints the groups; --fix keeps the oldest deletion of each group and deletes the "
            "others for good with their enrollments, attendance and student login, in one transaction.")

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="print the groups, change nothing (default)")
        mode.add_argument("--fix", action="store_true", help="keep the oldest deletion, delete the rest")
        parser.add_argument("--tenant", metavar="CODE", help="limit to one tenant code")

    def handle(self, *args, dry_run=False, fix=False, tenant=None, **options):
        scope = None
        if tenant:
            scope = Tenant.objects.filter(code=tenant).first()
            if scope is None:
                raise CommandError(f"unknown tenant code: {tenant}")
        if fix:
            result = student_deleted_duplicates_fix(tenant=scope)
            groups = result.groups
        else:
            groups = student_deleted_duplicates(tenant=scope)
        verb = "deleted" if fix else "would delete"
        for group in groups:
            self.stdout.write(
                f"tenant={group.tenant_id} name={group.name} parent_phone={mask_phone(group.parent_phone)}: "
                f"keep id={group.keep.id} (deleted_at {group.keep.deleted_at.isoformat()}), "
                f"{verb} ids={[s.id for s in group.remove]}"
            )
        total = sum(len(g.remove) for g in groups)
        if fix:
            self.stdout.write(f"fixed: {len(groups)} group(s), {total} student(s) deleted")
        else:
            self.stdout.write(f"dry run: {len(groups)} group(s), {total} student(s) would be deleted; "
                              "nothing changed (use --fix)")
