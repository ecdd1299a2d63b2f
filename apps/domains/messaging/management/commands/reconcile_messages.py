"""Run the messaging reconciler once (the scheduler runs it every minute): settle SENDING/UNKNOWN messages with the
provider and poll delivery of SENT ones. `--dry-run` only counts what would be asked about."""

from django.core.management.base import BaseCommand

from apps.domains.messaging.reconcile import DEFAULT_LIMIT, messages_reconcile


class Command(BaseCommand):
    help = "Settle unsettled messages with the provider and poll deliveries; print a summary."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count the rows to ask about, change nothing")
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="rows asked about at most")

    def handle(self, *args, dry_run, limit, **options):
        summary = messages_reconcile(limit=max(1, min(limit, 10_000)), dry_run=dry_run)
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(prefix + " ".join(f"{key}={value}" for key, value in summary.items()))
