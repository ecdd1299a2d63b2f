"""Operators top up a tenant's message credit (payments are outside the product): one TOP_UP ledger entry."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from apps.core.models import Tenant
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.services import credit_grant

MAX_GRANT = Decimal("100000000")


class Command(BaseCommand):
    help = "Add message credit (won) to a tenant's ledger and print the new balance."

    def add_arguments(self, parser):
        parser.add_argument("tenant_code")
        parser.add_argument("amount")
        parser.add_argument("--memo", default="", help="why (shown in the tenant's credit history)")

    def handle(self, *args, tenant_code, amount, memo, **options):
        try:
            value = Decimal(amount)
        except InvalidOperation as exc:
            raise CommandError(f"amount must be a number, got {amount!r}") from exc
        if not value.is_finite() or value <= 0 or value > MAX_GRANT or value != value.quantize(Decimal("0.01")):
            raise CommandError(f"amount must be positive, at most {MAX_GRANT}, with at most 2 decimals")
        tenant = Tenant.objects.filter(code=tenant_code).first()
        if tenant is None:
            raise CommandError(f"no tenant with code {tenant_code!r}")
        entry = credit_grant(tenant=tenant, amount=value, memo=memo[:200])
        balance = credit_balance(tenant=tenant)
        self.stdout.write(f"granted {entry.amount} to {tenant.code} (entry {entry.id}); balance {balance}")
