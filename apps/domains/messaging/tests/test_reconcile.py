"""The reconciler: SENDING rows whose worker died and UNKNOWN rows settled with the provider (charged once, never
resent), SENT rows polled for delivery, and real processes SIGKILLed between the provider's accept and the record."""

import json
import os
import random
import signal
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.domains.messaging.models import CreditEntry, CreditKind, MessageRecipient, RecipientStatus, SendStatus
from apps.domains.messaging.reconcile import messages_reconcile
from apps.domains.messaging.selectors import credit_balance
from apps.integrations.messaging import OutgoingMessage, get_message_provider, reset_message_provider_for_tests
from apps.jobs.models import Job, JobState
from apps.jobs.scheduler import all_periodic
from apps.worker.tests.support import REPO_ROOT, start_worker, wait_until

from .sending_support import (
    PRICES,
    SENDER,
    TOP_UP,
    assert_ledger_consistent,
    make_job,
    make_send,
    prepare_tenant,
    rows,
    run_handler,
    sent_ids,
    statuses,
)


@pytest.fixture
def academy(tenant):
    prepare_tenant(tenant)
    return tenant


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def _taken_by_a_dead_worker(send, provider_accepts: list) -> None:
    """As a worker SIGKILLed after the provider's answer leaves it: the rows SENDING, `provider_accepts` at the
    provider, nothing recorded."""
    MessageRecipient.objects.filter(send=send).update(status=RecipientStatus.SENDING, sent_type="SMS",
                                                      sending_at=timezone.now(), batch="0" * 32)
    if provider_accepts:
        get_message_provider().send_many([
            OutgoingMessage(recipient_id=str(r.uid), to=r.phone, sender=SENDER, type="SMS", text=r.text)
            for r in provider_accepts])


@pytest.mark.django_db
def test_a_stale_sending_row_the_provider_took_is_sent_and_charged_once(academy, fake_solapi, settings):
    send = make_send(academy, count=2)
    taken, lost = rows(send)
    _taken_by_a_dead_worker(send, [taken])

    assert messages_reconcile() == {"unsettled": 0, "awaiting_delivery": 0}  # not stale yet
    summary = messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    assert (summary["sent"], summary["unknown"]) == (1, 1)
    taken.refresh_from_db()
    lost.refresh_from_db()
    assert (taken.status, taken.charged_amount, taken.provider_message_id[:3]) == (RecipientStatus.SENT,
                                                                                    PRICES["SMS"], "M4V")
    assert lost.status == RecipientStatus.UNKNOWN
    assert set(CreditEntry.objects.filter(reference=f"recipient:{taken.uid}").values_list("kind", flat=True)) == {
        CreditKind.RELEASE, CreditKind.CHARGE}
    run_handler(make_job(send))  # a redelivery: nothing is PENDING, nothing is resent
    assert sent_ids(fake_solapi) == {str(taken.uid): 1}

    messages_reconcile(now=later(settings.MESSAGING_NOT_FOUND_SECONDS + 1))

    lost.refresh_from_db()
    assert (lost.status, lost.provider_code, lost.reason) == (RecipientStatus.FAILED, "NOT_FOUND",
                                                              "문자 서비스에 발송 기록이 없음")
    assert credit_balance(tenant=academy) == TOP_UP - PRICES["SMS"]
    assert_ledger_consistent(academy)


@pytest.mark.django_db
def test_dry_run_counts_and_changes_nothing_and_the_command_prints_a_summary(academy, fake_solapi, settings):
    settings.MESSAGING_SENDING_STALE_SECONDS = 0
    send = make_send(academy, count=2)
    _taken_by_a_dead_worker(send, rows(send))
    out = StringIO()

    call_command("reconcile_messages", "--dry-run", stdout=out)

    assert out.getvalue().strip() == "dry run: unsettled=2 awaiting_delivery=0"
    assert statuses(send) == {RecipientStatus.SENDING: 2}
    assert [r for r in fake_solapi.requests if r.method == "GET"] == []
    out = StringIO()
    call_command("reconcile_messages", stdout=out)
    assert "sent=2" in out.getvalue()
    assert statuses(send) == {RecipientStatus.SENT: 2}


@pytest.mark.django_db
def test_a_provider_that_cannot_answer_leaves_everything_as_it_was(academy, fake_solapi, settings):
    send = make_send(academy, count=1)
    _taken_by_a_dead_worker(send, rows(send))
    fake_solapi.fail_next(503)

    summary = messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    assert summary["error"] == "provider_unavailable"
    assert statuses(send) == {RecipientStatus.SENDING: 1}


@pytest.mark.django_db
def test_the_reconciler_and_the_held_dispatch_are_periodic_tasks_of_the_scheduler():
    tasks = {task.name: task for task in all_periodic()}

    assert tasks["messages_reconcile"].every_seconds == 60
    assert tasks["messages_reconcile"].function == "apps.domains.messaging.reconcile.messages_reconcile_task"
    assert tasks["dispatch_held_messages"].every_seconds == 30


@pytest.mark.django_db
def test_rows_asked_about_go_to_the_back_of_the_line(academy, fake_solapi, settings):
    settings.MESSAGING_SENDING_STALE_SECONDS = 0
    send = make_send(academy, count=3)
    _taken_by_a_dead_worker(send, [])
    MessageRecipient.objects.filter(send=send).update(status=RecipientStatus.UNKNOWN)

    messages_reconcile(limit=2)
    first = [r.query["value"] for r in fake_solapi.requests]
    messages_reconcile(limit=2)
    second = [r.query["value"] for r in fake_solapi.requests[len(first):]]

    assert len(first) == len(second) == 2
    assert {str(r.uid) for r in rows(send)} - set(first) <= set(second)
    assert statuses(send) == {RecipientStatus.UNKNOWN: 3}


# ---------------------------------------------------------------------------------------------------- SIGKILL

STAGES = ("claimed", "in_flight", "answered", "recording", "recorded")
RECIPIENTS, BATCH = 5, 2  # three batches: 2, 2, 1
REPETITIONS = 20


@pytest.fixture
def send_processes(settings, tmp_path, fake_solapi):
    """The forking runner of send_process.py on the test database, pointed at the fake Solapi."""
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "apps.api.config.settings.test",
        "DB_NAME": connection.settings_dict["NAME"], "MESSAGING_PROVIDER": "solapi",
        "SOLAPI_API_KEY": fake_solapi.api_key, "SOLAPI_API_SECRET": fake_solapi.api_secret,
        "SOLAPI_BASE_URL": fake_solapi.url,
        "MESSAGING_BATCH_SIZE": str(BATCH), "MESSAGING_HTTP_TIMEOUT_SECONDS": "30",
    }
    with open(tmp_path / "send_process.log", "wb") as log:
        runner = subprocess.Popen([sys.executable, "-m", "apps.domains.messaging.tests.send_process"], cwd=REPO_ROOT,
                                  env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                  text=True)
    yield runner
    runner.stdin.close()
    runner.wait(timeout=30)


def _kill_at(runner, fake, job, *, stage: str, batch: int, marker) -> dict:
    """Start a sender for `job`, SIGKILL it at `stage` of `batch`; its exit as the runner saw it."""
    runner.stdin.write(json.dumps({"job_id": str(job.id), "stage": stage, "batch": batch,
                                   "marker": str(marker)}) + "\n")
    runner.stdin.flush()
    if stage == "in_flight":
        ready = marker.with_name(marker.name + ".ready")
        fake.release_event.clear()
        fake.hung.clear()
        wait_until(lambda: ready.exists() and ready.read_text(), timeout=20)
        fake.hang_next()
        marker.with_name(marker.name + ".go").touch()
        wait_until(fake.hung.is_set, timeout=20)  # the fake registered the batch and holds its answer
        pid = int(ready.read_text())
    else:
        wait_until(lambda: marker.exists() and marker.read_text(), timeout=20)
        pid = int(marker.read_text())
    os.kill(pid, signal.SIGKILL)
    ended = json.loads(runner.stdout.readline())
    fake.release()
    return ended


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sender_sigkilled_anywhere_between_taking_and_recording_a_batch_never_sends_a_message_twice(
        tenant, fake_solapi, send_processes, settings, tmp_path):
    prepare_tenant(tenant)
    settings.MESSAGING_BATCH_SIZE = BATCH
    seed = random.randrange(1 << 30)
    chosen = random.Random(seed)
    for repetition in range(REPETITIONS):
        stage, batch = chosen.choice(STAGES), chosen.randrange(3)
        where = f"seed {seed}, repetition {repetition}: {stage} of batch {batch}"
        send = make_send(tenant, count=RECIPIENTS)
        job = make_job(send)

        ended = _kill_at(send_processes, fake_solapi, job, stage=stage, batch=batch,
                         marker=tmp_path / f"stopped-{repetition}")

        assert ended["signal"] == signal.SIGKILL, where
        # What the dead sender left is settled with the provider; the redelivered job sends what nobody took.
        messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))
        run_handler(job)
        fake_solapi.settle()
        # A day on: the deliveries are in, and what the provider never heard of has failed.
        messages_reconcile(now=later(settings.MESSAGING_NOT_FOUND_SECONDS + 1))

        sent = sent_ids(fake_solapi)
        at_provider = {str(r.uid) for r in rows(send)} & set(sent)
        assert all(sent[uid] == 1 for uid in at_provider), where
        for row in rows(send):
            if str(row.uid) in at_provider:
                assert (row.status, row.charged_amount) == (RecipientStatus.DELIVERED, PRICES["SMS"]), where
            else:  # taken by the dead sender before it reached the provider: never resent, failed as unknown there
                assert (row.status, row.provider_code) == (RecipientStatus.FAILED, "NOT_FOUND"), where
        assert_ledger_consistent(tenant)
    assert credit_balance(tenant=tenant) == TOP_UP - PRICES["SMS"] * MessageRecipient.objects.filter(
        tenant=tenant, status=RecipientStatus.DELIVERED).count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_messaging_worker_sigkilled_while_the_provider_holds_its_batch_is_taken_over_without_a_resend(
        tenant, fake_solapi, live_server, tmp_path, settings):
    from apps.integrations.queues import reset_queues_for_tests
    from apps.jobs.services import job_scan_stuck, job_submit

    settings.QUEUE_BACKEND = "table"
    reset_queues_for_tests()
    prepare_tenant(tenant)
    send = make_send(tenant, count=5)
    environment = {"MESSAGING_PROVIDER": "solapi", "SOLAPI_API_KEY": fake_solapi.api_key,
                   "SOLAPI_API_SECRET": fake_solapi.api_secret, "SOLAPI_BASE_URL": fake_solapi.url,
                   "MESSAGING_BATCH_SIZE": "2", "MESSAGING_VISIBILITY_WINDOW_SECONDS": "3"}
    fake_solapi.hang_next()
    job = job_submit(tenant=tenant, kind="message_send", payload={"send_id": send.id})
    first = start_worker("messaging", api_url=live_server.url, log_dir=tmp_path, name="m1", **environment)
    try:
        wait_until(fake_solapi.hung.is_set, timeout=30)  # Solapi took the first batch; the worker waits for the answer
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        fake_solapi.release()
        assert statuses(send) == {RecipientStatus.SENDING: 2, RecipientStatus.PENDING: 3}

        # Its heartbeat stops: the scheduler's scan requeues the job and another worker takes it.
        Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
        job_scan_stuck(kind="message_send")
        second = start_worker("messaging", api_url=live_server.url, log_dir=tmp_path, name="m2", **environment)
        try:
            wait_until(lambda: Job.objects.get(id=job.id).state == JobState.DONE, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert statuses(send) == {RecipientStatus.SENDING: 2, RecipientStatus.SENT: 3}
    assert Job.objects.get(id=job.id).attempts == 2
    messages_reconcile(now=later(settings.MESSAGING_SENDING_STALE_SECONDS + 1))

    assert statuses(send) == {RecipientStatus.SENT: 5}
    assert sent_ids(fake_solapi) == {str(r.uid): 1 for r in rows(send)}
    send.refresh_from_db()
    assert send.status == SendStatus.DONE
    assert_ledger_consistent(tenant, settled=True)
    reset_queues_for_tests()
    reset_message_provider_for_tests()
