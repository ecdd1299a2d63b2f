"""ARCHITECTURE §4 Excel export: delete roster exports older than N hours from the storage bucket (exports/)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.domains.enrollment.excel.services import EXPORT_BUCKET, excel_exports_purge
from apps.integrations.storage import StorageError


class Command(BaseCommand):
    help = "Delete Excel exports (storage bucket, exports/) older than --hours (default EXCEL_EXPORT_RETENTION_HOURS)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=None, help="age in hours past which an export is deleted")
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    def handle(self, *args, hours=None, dry_run=False, **options):
        hours = settings.EXCEL_EXPORT_RETENTION_HOURS if hours is None else hours
        if hours < 1:
            raise CommandError("--hours must be at least 1")
        try:
            expired = excel_exports_purge(older_than=timedelta(hours=hours), dry_run=dry_run)
        except StorageError as exc:
            raise CommandError(f"storage unavailable: {exc}")
        verb = "would delete" if dry_run else "deleted"
        for info in expired:
            modified = f"{info.last_modified:%Y-%m-%d %H:%M %Z}"
            self.stdout.write(f"{verb} {EXPORT_BUCKET}/{info.key} ({info.size} bytes, modified {modified})")
        self.stdout.write(f"{verb} {len(expired)} export(s) older than {hours} h")
