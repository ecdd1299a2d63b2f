"""Reads of the messaging profile and the credit ledger (ARCHITECTURE §4 Messaging)."""

from decimal import Decimal

from django.db.models import QuerySet, Sum

from apps.core.models import Tenant
from apps.domains.messaging.models import CreditEntry


def credit_balance(*, tenant: Tenant) -> Decimal:
    total = CreditEntry.objects.for_tenant(tenant).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else Decimal("0.00")


def credit_entry_list(*, tenant: Tenant | None) -> QuerySet[CreditEntry]:
    return CreditEntry.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")
