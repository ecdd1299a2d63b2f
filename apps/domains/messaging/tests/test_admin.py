from decimal import Decimal

import pytest

from apps.core.models import Role
from apps.domains.messaging.services import credit_grant, messaging_profile_update


@pytest.mark.parametrize("model", ["messagingprofile", "creditentry"])
def test_the_operator_sees_profiles_and_the_ledger_read_only(client, make_user, tenant, model):
    operator = make_user(None, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(operator)
    messaging_profile_update(tenant=tenant, data={"sender_number": "025550100"})
    credit_grant(tenant=tenant, amount=Decimal("100"), memo="충전")

    listing = client.get(f"/admin/messaging/{model}/?tenant__id__exact={tenant.id}&q=alpha")
    adding = client.get(f"/admin/messaging/{model}/add/")

    assert listing.status_code == 200
    assert adding.status_code == 403
