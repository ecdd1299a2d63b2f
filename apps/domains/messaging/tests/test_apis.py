from decimal import Decimal
from unittest import mock

import pytest

from apps.core.models import Role
from apps.domains.messaging.models import CreditEntry, MessagingProfile
from apps.domains.messaging.services import credit_grant, credit_reserve, messaging_profile_update

PROFILE = "/api/v1/messaging/profile/"
VERIFY = "/api/v1/messaging/profile/verify-sender/"
CREDITS = "/api/v1/messaging/credits/"


def test_the_first_read_creates_the_profile_with_default_prices(admin_client, tenant):
    response = admin_client.get(PROFILE)

    assert response.status_code == 200
    assert response.json() == {
        "sender_number": "", "sender_verified": False, "sender_verified_at": None, "opt_out_number": "",
        "kakao_channel_id": "", "price_sms": "20.00", "price_lms": "50.00", "price_ata": "15.00",
        "quiet_hours_start": None, "quiet_hours_end": None, "updated_at": response.json()["updated_at"],
    }
    assert MessagingProfile.objects.filter(tenant=tenant).count() == 1


def test_patch_normalises_the_numbers_and_sets_prices_and_quiet_hours(admin_client, tenant):
    response = admin_client.patch(PROFILE, {
        "sender_number": "02-555-0100", "opt_out_number": "080 1234 5678", "kakao_channel_id": " @demo ",
        "price_lms": "45.5", "quiet_hours_start": "22:00", "quiet_hours_end": "08:00",
    }, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["sender_number"], body["opt_out_number"], body["kakao_channel_id"], body["price_lms"],
            body["quiet_hours_start"], body["quiet_hours_end"]) == (
        "025550100", "080-1234-5678", "@demo", "45.50", "22:00:00", "08:00:00")


@pytest.mark.parametrize(("data", "code"), [
    ({"sender_number": "080-123-4567"}, "INVALID_SENDER_NUMBER"),
    ({"opt_out_number": "1588-1234"}, "INVALID_OPT_OUT_NUMBER"),
    ({"quiet_hours_end": "08:00"}, "QUIET_HOURS_INCOMPLETE"),
    ({"price_sms": "-1"}, "VALIDATION_ERROR"),
    ({"price_sms": "10000.01"}, "VALIDATION_ERROR"),
])
def test_bad_profile_input_is_a_korean_400_and_changes_nothing(admin_client, tenant, data, code):
    messaging_profile_update(tenant=tenant, data={"sender_number": "01012345678"})

    response = admin_client.patch(PROFILE, {"kakao_channel_id": "@new", **data}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert any("가" <= ch <= "힣" for ch in response.json()["message"])
    profile = MessagingProfile.objects.get(tenant=tenant)
    assert (profile.sender_number, profile.kakao_channel_id, profile.price_sms) == ("01012345678", "",
                                                                                    Decimal("20.00"))


def test_verify_records_an_approved_sender_and_a_change_clears_it(admin_client, tenant):
    admin_client.patch(PROFILE, {"sender_number": "1588-1234"}, format="json")

    verified = admin_client.post(VERIFY)

    assert verified.status_code == 200
    assert verified.json()["sender_verified"] is True
    changed = admin_client.patch(PROFILE, {"sender_number": "02-555-0101"}, format="json")
    assert (changed.json()["sender_verified"], changed.json()["sender_verified_at"]) == (False, None)


def test_verify_of_a_sender_the_provider_has_not_approved_is_409_and_records_nothing(admin_client, tenant):
    admin_client.patch(PROFILE, {"sender_number": "02-555-0100"}, format="json")

    with mock.patch("apps.integrations.messaging.outbox.OutboxProvider.sender_number_status",
                    return_value="PENDING"):
        response = admin_client.post(VERIFY)

    assert response.status_code == 409
    assert response.json()["code"] == "SENDER_NOT_APPROVED"
    assert response.json()["details"] == {"provider_status": "PENDING"}
    assert MessagingProfile.objects.get(tenant=tenant).sender_verified_at is None


def test_verify_without_a_sender_number_is_409(admin_client, tenant):
    response = admin_client.post(VERIFY)

    assert response.status_code == 409
    assert response.json()["code"] == "SENDER_NOT_APPROVED"
    assert MessagingProfile.objects.get(tenant=tenant).sender_verified_at is None


def test_credits_show_the_balance_and_the_entries_newest_first(admin_client, tenant, admin_user):
    credit_grant(tenant=tenant, amount=Decimal("1000"), memo="첫 충전", by=admin_user)
    credit_reserve(tenant=tenant, amount=Decimal("60"), reference="send:1")

    response = admin_client.get(CREDITS, {"page_size": 1})

    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["count"]) == ("940.00", 2)
    assert [(e["kind"], e["amount"], e["reference"]) for e in body["results"]] == [("RESERVE", "-60.00", "send:1")]
    second = admin_client.get(CREDITS, {"page_size": 1, "page": 2}).json()
    assert [(e["kind"], e["memo"], e["created_by_username"]) for e in second["results"]] == [
        ("TOP_UP", "첫 충전", admin_user.username)]


def test_another_tenants_profile_and_credits_are_never_visible(client_for, make_user, tenant, other_tenant):
    # Given another academy with a sender, a profile and credit
    messaging_profile_update(tenant=other_tenant, data={"sender_number": "0311234567", "kakao_channel_id": "@b"})
    credit_grant(tenant=other_tenant, amount=Decimal("5000"), memo="B 충전")
    client = client_for(make_user(tenant, Role.OWNER))

    # When this academy's owner reads and writes its own
    profile = client.get(PROFILE).json()
    client.patch(PROFILE, {"kakao_channel_id": "@a"}, format="json")
    credits = client.get(CREDITS).json()

    # Then nothing of the other academy shows or changes
    assert (profile["sender_number"], profile["kakao_channel_id"]) == ("", "")
    assert (credits["balance"], credits["count"], credits["results"]) == ("0.00", 0, [])
    other = MessagingProfile.objects.get(tenant=other_tenant)
    assert (other.sender_number, other.kakao_channel_id) == ("0311234567", "@b")


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STAFF, Role.STUDENT, Role.PARENT])
def test_only_owners_and_admins_reach_the_messaging_settings(client_for, make_user, tenant, role):
    client = client_for(make_user(tenant, role))

    answers = [client.get(PROFILE), client.patch(PROFILE, {"sender_number": "01012345678"}, format="json"),
               client.post(VERIFY), client.get(CREDITS)]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(403, "PERMISSION_DENIED")] * 4
    assert MessagingProfile.objects.filter(tenant=tenant).count() == 0
    assert CreditEntry.objects.count() == 0


def test_anonymous_callers_are_refused(client):
    assert client.get(PROFILE).status_code == 401
