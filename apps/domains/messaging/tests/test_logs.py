"""The messaging domain logs neither a message body, an AlimTalk variable nor a full phone number: a send handled,
refused, fallen back, left UNKNOWN and reconciled with each provider, every logger at DEBUG."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.logging import PHONE_IN_TEXT
from apps.core.tests.log_capture import logged_text
from apps.domains.messaging.models import MessageRecipient, RecipientStatus
from apps.domains.messaging.reconcile import messages_reconcile
from apps.integrations.messaging import reset_message_provider_for_tests

from .sending_support import make_job, make_send, prepare_tenant, run_handler, statuses

pytestmark = pytest.mark.django_db

BODY = "민준 학생 수학 92점 안내"
ALIMTALK = "민준 학생 오늘 결석 안내"
# Numbers each provider refuses: the outbox's reserved range, and the fake Solapi's rules set below.
FAILING = "01099990001"


@pytest.fixture(params=["outbox", "solapi"])
def provider(request, settings):
    if request.param == "solapi":
        fake = request.getfixturevalue("fake_solapi")
        fake.codes_by_to[FAILING] = "3104"
        yield fake
        return
    settings.MESSAGING_PROVIDER = "outbox"
    reset_message_provider_for_tests()
    yield None
    reset_message_provider_for_tests()


def test_sending_falling_back_and_reconciling_log_no_text_and_no_phone(tenant, provider, caplog, settings):
    # Given an SMS send, and an AlimTalk send whose first recipient is not a KakaoTalk user (SMS fallback)
    prepare_tenant(tenant)
    sms = make_send(tenant, count=3, text=BODY, phones=["01023456789", "01034567890", "01045678901"])
    alimtalk = make_send(tenant, type="ATA", fallback_type="SMS", text=ALIMTALK, phones=[FAILING, "01056789012"])
    caplog.set_level(logging.DEBUG)

    # When both are handled (the second one's first attempt fails at the provider when it is Solapi), then
    # reconciled later
    if provider is not None:
        provider.fail_next(500)
    run_handler(make_job(sms))
    run_handler(make_job(alimtalk))
    run_handler(make_job(alimtalk))
    if provider is not None:
        provider.settle()
    messages_reconcile(now=timezone.now() + timedelta(seconds=settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    # Then the sends went their ways and were logged, without a text, a variable or a full number
    if provider is not None:
        assert statuses(sms) == {RecipientStatus.UNKNOWN: 3}  # Solapi answered 500: never resent
    else:
        assert statuses(sms) == {RecipientStatus.SENT: 3}
    # The failing number refused the AlimTalk, then its SMS fallback too (both providers refuse it whatever the type)
    fallen_back = MessageRecipient.objects.get(send=alimtalk, phone=FAILING)
    assert (fallen_back.status, fallen_back.sent_type) == (RecipientStatus.FAILED, "SMS")
    logged = logged_text(caplog.records)
    assert "message_send_handled" in logged
    assert PHONE_IN_TEXT.search(logged) is None, PHONE_IN_TEXT.search(logged).group()
    for fragment in ("92점", "결석", "김민준"):
        assert fragment not in logged
