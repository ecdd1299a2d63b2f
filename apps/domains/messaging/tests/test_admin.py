from decimal import Decimal

import pytest

from apps.core.models import Role
from apps.domains.messaging.services import credit_grant, messaging_profile_update


@pytest.mark.parametrize("model", ["messagingprofile", "creditentry", "messagesend", "messagerecipient",
                                   "pendingnotice"])
def test_the_operator_sees_profiles_and_the_ledger_read_only(client, make_user, tenant, model):
    operator = make_user(None, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(operator)
    messaging_profile_update(tenant=tenant, data={"sender_number": "025550100"})
    credit_grant(tenant=tenant, amount=Decimal("100"), memo="충전")

    listing = client.get(f"/admin/messaging/{model}/?tenant__id__exact={tenant.id}&q=alpha")
    adding = client.get(f"/admin/messaging/{model}/add/")

    assert listing.status_code == 200
    assert adding.status_code == 403


def test_the_operator_finds_a_recipient_by_uid_with_its_phone_masked(client, make_user, tenant, make_student):
    from apps.domains.messaging.models import MessageRecipient
    from apps.domains.messaging.sending import SendSpec, send_create
    from apps.domains.messaging.tests.sending_support import ready

    client.force_login(make_user(None, Role.ADMIN, is_staff=True, is_superuser=True))
    ready(tenant)
    student = make_student(tenant, parent_phone="01011112222")
    send = send_create(tenant=tenant, spec=SendSpec(body="안내", student_ids=[student.id]))
    recipient = MessageRecipient.objects.get(send=send)

    found = client.get(f"/admin/messaging/messagerecipient/?q={recipient.uid}")
    sends = client.get(f"/admin/messaging/messagesend/?q={send.id}")

    assert found.status_code == 200 and str(recipient.uid) in found.content.decode()
    assert "010****2222" in found.content.decode() and "01011112222" not in found.content.decode()
    assert sends.status_code == 200
    assert client.get("/admin/messaging/messagerecipient/add/").status_code == 403
