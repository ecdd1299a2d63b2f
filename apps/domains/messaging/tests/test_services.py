import threading
from decimal import Decimal

import pytest
from django.db import connection

from apps.domains.messaging.models import CreditEntry, CreditKind, MessagingProfile
from apps.domains.messaging.selectors import credit_balance
from apps.domains.messaging.services import (
    InsufficientCreditError,
    InvalidCreditAmountError,
    InvalidOptOutNumberError,
    InvalidSenderNumberError,
    QuietHoursIncompleteError,
    credit_charge,
    credit_grant,
    credit_refund,
    credit_release,
    credit_reserve,
    messaging_profile_ensure,
    messaging_profile_update,
    sender_number_normalize,
)


def test_the_profile_is_created_once_with_the_default_prices(tenant, settings):
    settings.MESSAGING_PRICE_SMS, settings.MESSAGING_PRICE_LMS, settings.MESSAGING_PRICE_ATA = "18.5", "45", "13"

    first = messaging_profile_ensure(tenant=tenant)
    second = messaging_profile_ensure(tenant=tenant)

    assert first.id == second.id
    assert MessagingProfile.objects.filter(tenant=tenant).count() == 1
    first.refresh_from_db()
    assert (first.price_sms, first.price_lms, first.price_ata) == (Decimal("18.50"), Decimal("45.00"),
                                                                    Decimal("13.00"))


@pytest.mark.parametrize(("given", "stored"), [
    ("010-1234-5678", "01012345678"),
    ("02-555-0100", "025550100"),
    ("02) 5555 0100", "0255550100"),
    ("031-123-4567", "0311234567"),
    ("064-1234-5678", "06412345678"),
    ("070-1234-5678", "07012345678"),
    ("1588-1234", "15881234"),
    ("1644-0000", "16440000"),
    ("1899.1234", "18991234"),
    ("０２-５５５-０１００", "025550100"),
])
def test_sender_numbers_of_the_accepted_shapes_are_stored_as_digits(given, stored):
    assert sender_number_normalize(given) == stored


@pytest.mark.parametrize("given", [
    "", "010-123-4567", "011-123-4567", "080-123-4567", "060-123-4567", "1234-5678", "1588-12345", "02-12-345",
    "+82-10-1234-5678", "010 1234 5678 내선", "0101234567a",
])
def test_other_sender_numbers_are_refused(given):
    with pytest.raises(InvalidSenderNumberError) as caught:
        sender_number_normalize(given)

    assert caught.value.code == "INVALID_SENDER_NUMBER"


def test_changing_the_sender_number_clears_its_verification(tenant):
    profile = messaging_profile_update(tenant=tenant, data={"sender_number": "02-555-0100"})
    MessagingProfile.objects.filter(id=profile.id).update(sender_verified_at="2026-01-01T00:00:00Z")

    same = messaging_profile_update(tenant=tenant, data={"sender_number": "025550100"})
    assert same.sender_verified_at is not None

    changed = messaging_profile_update(tenant=tenant, data={"sender_number": "1588-1234"})

    changed.refresh_from_db()
    assert (changed.sender_number, changed.sender_verified_at) == ("15881234", None)


def test_an_invalid_opt_out_number_changes_nothing(tenant):
    messaging_profile_update(tenant=tenant, data={"opt_out_number": "0801234567", "kakao_channel_id": "@old"})

    with pytest.raises(InvalidOptOutNumberError):
        messaging_profile_update(tenant=tenant, data={"opt_out_number": "02-123-4567", "kakao_channel_id": "@new"})

    profile = MessagingProfile.objects.get(tenant=tenant)
    assert (profile.opt_out_number, profile.kakao_channel_id) == ("080-123-4567", "@old")


@pytest.mark.parametrize("data", [
    {"quiet_hours_start": "22:00"},
    {"quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
])
def test_quiet_hours_need_both_ends_and_differ(tenant, data):
    import datetime as dt

    messaging_profile_ensure(tenant=tenant)
    data = {key: dt.time.fromisoformat(value) for key, value in data.items()}
    with pytest.raises(QuietHoursIncompleteError):
        messaging_profile_update(tenant=tenant, data=data)

    assert MessagingProfile.objects.get(tenant=tenant).quiet_hours_start is None


def test_the_balance_is_the_sum_of_the_ledger(tenant, admin_user):
    credit_grant(tenant=tenant, amount=Decimal("1000"), memo="충전", by=admin_user)
    credit_reserve(tenant=tenant, amount=Decimal("150"), reference="send:1")
    credit_release(tenant=tenant, amount=Decimal("150"), reference="send:1")
    credit_charge(tenant=tenant, amount=Decimal("100"), reference="send:1")
    credit_refund(tenant=tenant, amount=Decimal("20"), reference="send:1")

    assert credit_balance(tenant=tenant) == Decimal("920.00")
    assert sorted(CreditEntry.objects.filter(tenant=tenant).values_list("kind", "amount")) == [
        (CreditKind.CHARGE, Decimal("-100.00")), (CreditKind.REFUND, Decimal("20.00")),
        (CreditKind.RELEASE, Decimal("150.00")), (CreditKind.RESERVE, Decimal("-150.00")),
        (CreditKind.TOP_UP, Decimal("1000.00")),
    ]


def test_a_reservation_beyond_the_balance_is_refused_and_writes_nothing(tenant):
    credit_grant(tenant=tenant, amount=Decimal("100"))

    with pytest.raises(InsufficientCreditError) as caught:
        credit_reserve(tenant=tenant, amount=Decimal("100.01"), reference="send:1")

    assert (caught.value.status_code, caught.value.code) == (402, "INSUFFICIENT_CREDIT")
    assert caught.value.details == {"balance": "100.00", "needed": "100.01"}
    assert CreditEntry.objects.filter(tenant=tenant, kind=CreditKind.RESERVE).count() == 0
    assert credit_balance(tenant=tenant) == Decimal("100.00")


def test_another_tenants_credit_does_not_count(tenant, other_tenant):
    credit_grant(tenant=other_tenant, amount=Decimal("1000"))

    with pytest.raises(InsufficientCreditError):
        credit_reserve(tenant=tenant, amount=Decimal("1"), reference="send:1")

    assert credit_balance(tenant=tenant) == Decimal("0.00")


def test_a_redelivered_charge_refund_or_release_is_written_once(tenant):
    credit_grant(tenant=tenant, amount=Decimal("1000"))

    for _ in range(2):
        credit_charge(tenant=tenant, amount=Decimal("50"), reference="recipient:7")
        credit_refund(tenant=tenant, amount=Decimal("50"), reference="recipient:8")
        credit_release(tenant=tenant, amount=Decimal("30"), reference="send:3")
        credit_reserve(tenant=tenant, amount=Decimal("30"), reference="send:3")

    assert CreditEntry.objects.filter(tenant=tenant).count() == 5
    assert credit_balance(tenant=tenant) == Decimal("1000.00")


def test_the_same_reference_may_carry_each_kind_once_per_tenant(tenant, other_tenant):
    credit_grant(tenant=tenant, amount=Decimal("100"))
    credit_grant(tenant=other_tenant, amount=Decimal("100"))

    credit_charge(tenant=tenant, amount=Decimal("10"), reference="send:1")
    credit_charge(tenant=other_tenant, amount=Decimal("10"), reference="send:1")

    assert credit_balance(tenant=tenant) == credit_balance(tenant=other_tenant) == Decimal("90.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("NaN"), Decimal("Infinity")])
def test_non_positive_amounts_are_refused(tenant, amount):
    with pytest.raises(InvalidCreditAmountError):
        credit_grant(tenant=tenant, amount=amount)
    with pytest.raises(InvalidCreditAmountError):
        credit_reserve(tenant=tenant, amount=amount, reference="send:1")

    assert CreditEntry.objects.count() == 0


def test_a_send_movement_without_a_reference_is_a_programming_error(tenant):
    credit_grant(tenant=tenant, amount=Decimal("100"))

    with pytest.raises(ValueError):
        credit_charge(tenant=tenant, amount=Decimal("10"), reference=" ")

    assert CreditEntry.objects.filter(kind=CreditKind.CHARGE).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reservations_cannot_both_spend_the_same_credit(make_tenant):
    # Given a balance that covers one reservation, and two reservations that start together
    tenant = make_tenant("race")
    credit_grant(tenant=tenant, amount=Decimal("100"))
    barrier = threading.Barrier(2)
    outcomes = []

    def reserve(reference):
        try:
            barrier.wait(timeout=10)
            credit_reserve(tenant=tenant, amount=Decimal("80"), reference=reference)
            outcomes.append("reserved")
        except InsufficientCreditError:
            outcomes.append("refused")
        finally:
            connection.close()

    # When both run at once
    threads = [threading.Thread(target=reserve, args=(f"send:{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one passes and the balance never goes below zero
    assert sorted(outcomes) == ["refused", "reserved"]
    assert credit_balance(tenant=tenant) == Decimal("20.00")
