"""Operator retention: delete for good the students soft-deleted more than N days ago."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.domains.students.services import student_purge_deleted


class Command(BaseCommand):
    help = ("Permanently delete students soft-deleted more than --days days ago (default "
            "DELETED_STUDENT_RETENTION_DAYS), with their enrollments, attendance and student login.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print what would be deleted, change nothing")
        parser.add_argument("--days", type=int, default=None, help="retention in days")

    def handle(self, *args, dry_run=False, days=None, **options):
        days = settings.DELETED_STUDENT_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be zero or more")
        cutoff = timezone.now() - timedelta(days=days)
        result = student_purge_deleted(cutoff=cutoff, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for student in result.students:
            self.stdout.write(f"{verb} id={student.id} tenant={student.tenant_id} name={student.name} "
                              f"deleted_at={student.deleted_at.isoformat()}")
        summary = f"{verb} {len(result.students)} student(s) soft-deleted before {cutoff.isoformat()}"
        if dry_run:
            summary += "; nothing changed"
        self.stdout.write(summary)
