from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.domains.messaging.models import CreditEntry, CreditKind
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.services import credit_grant


def test_grant_adds_a_top_up_and_prints_the_new_balance(tenant):
    credit_grant(tenant=tenant, amount=Decimal("100"))
    out = StringIO()

    call_command("grant_message_credit", "alpha", "2500.50", "--memo", "3월 충전", stdout=out)

    entry = CreditEntry.objects.filter(tenant=tenant).order_by("-id").first()
    assert (entry.kind, entry.amount, entry.memo, entry.created_by) == (CreditKind.TOP_UP, Decimal("2500.50"),
                                                                        "3월 충전", None)
    assert out.getvalue().strip().endswith("balance 2600.50")
    assert credit_balance(tenant=tenant) == Decimal("2600.50")


@pytest.mark.parametrize(("args", "error"), [
    (["alpha", "0"], "positive"),
    (["alpha", "-100"], "positive"),
    (["alpha", "1.001"], "2 decimals"),
    (["alpha", "abc"], "must be a number"),
    (["alpha", "NaN"], "positive"),
    (["nobody", "100"], "no tenant"),
])
def test_grant_refuses_bad_amounts_and_unknown_tenants(tenant, args, error):
    with pytest.raises(CommandError, match=error):
        call_command("grant_message_credit", *args)

    assert CreditEntry.objects.count() == 0
