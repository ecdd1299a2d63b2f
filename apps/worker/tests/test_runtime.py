import random
import signal
import sys
import threading
import types
import uuid
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework import serializers

from apps.jobs import services
from apps.jobs.errors import MAX_FAILURE_DETAILS_BYTES
from apps.jobs.models import Job, JobState
from apps.jobs.serializers import FailInputSerializer
from apps.jobs.tests import kinds
from apps.worker.runtime import (
    DETAILS_TOO_LARGE,
    MalformedMessage,
    WorkerRuntime,
    build_runtime,
    parse_message_body,
    stop_instance_if_configured,
)
from apps.worker.tests.support import wait_until


@pytest.fixture
def queue_name(settings):
    return settings.SQS_QUEUE_EXCEL


@pytest.fixture
def make_runtime(db, fake_queues, in_process_client, queue_name):
    def make(**overrides) -> WorkerRuntime:
        options = {
            "fleet": "excel", "queue_names": [queue_name], "queues": fake_queues, "client": in_process_client,
            "wait_seconds": 0, "visibility_window": 30, "heartbeat_interval": 3600,
        }
        return WorkerRuntime(**{**options, **overrides})

    return make


@pytest.fixture
def job_clock(monkeypatch):
    """The job services' clock, moved forward by hand: backoffs pass without waiting for them."""
    real = services.timezone

    class Clock:
        offset = timedelta()

        def now(self):
            return real.now() + self.offset

        def advance(self, seconds: float) -> None:
            self.offset += timedelta(seconds=seconds)

    clock = Clock()
    monkeypatch.setattr(services, "timezone", clock)
    return clock


@pytest.fixture
def submit(make_job):
    def submit(kind: str = "test_echo", **fields) -> Job:
        job = make_job(kind=kind, **fields)
        services.job_dispatch(job=job)
        return job

    return submit


def test_a_job_is_claimed_run_completed_and_its_message_deleted(make_runtime, submit, fake_queues, queue_name,
                                                                test_kinds):
    job = submit(payload={"rows": 3})

    exit_code = make_runtime().run(max_polls=1)

    assert exit_code == 0
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.result == {"echo": {"rows": 3}}
    assert job.attempts == 1
    assert fake_queues.depth(queue_name) == 0
    assert [call[0] for call in test_kinds] == ["echo"]


def test_a_message_reads_its_job_once_besides_the_transitions(make_runtime, submit, django_assert_num_queries):
    submit(payload={"rows": 3})
    runtime = make_runtime()

    # The worker's read of the job, then UPDATE and SELECT for each of claim, progress and complete (the API's side
    # of the in-process client): the claim's answer is not read again.
    with django_assert_num_queries(1 + 3 * 2):
        runtime.run(max_polls=1)


def test_duplicate_delivery_of_a_finished_job_does_not_run_the_handler_again(make_runtime, submit, fake_queues,
                                                                             queue_name, test_kinds):
    job = submit()
    runtime = make_runtime()
    runtime.run(max_polls=1)
    fake_queues.send(queue_name, {"job_id": str(job.id), "kind": "test_echo", "tenant_id": job.tenant_id})

    runtime.run(max_polls=1)

    assert [call[0] for call in test_kinds] == ["echo"]
    assert fake_queues.depth(queue_name) == 0
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 1)


@pytest.mark.parametrize("body", [
    "not json at all",
    ["job_id"],
    {},
    {"job_id": "not-a-uuid", "kind": "test_echo"},
    {"job_id": 42, "kind": "test_echo"},
    {"job_id": str(uuid.UUID(int=1)), "kind": ""},
    {"job_id": str(uuid.UUID(int=1)), "kind": "test_echo", "payload": {"whole": "object"}},
])
def test_malformed_messages_are_left_to_reach_the_dlq_without_crashing(make_runtime, fake_queues, queue_name, body,
                                                                       test_kinds):
    fake_queues.max_receive_count = 2
    fake_queues.put_raw(queue_name, body)
    runtime = make_runtime()

    assert runtime.run(max_polls=1) == 0
    assert (fake_queues.depth(queue_name), fake_queues.visibility_changes) == (1, [])
    fake_queues.advance(30)  # the hold window lapses
    runtime.run(max_polls=1)
    fake_queues.advance(30)
    runtime.run(max_polls=1)

    assert fake_queues.depth(queue_name) == 0
    assert [message["body"] for message in fake_queues.queues[f"{queue_name}-dlq"]] == [body]
    assert test_kinds == []


def test_parse_message_body_returns_the_ids():
    job_id = uuid.uuid4()

    assert parse_message_body({"job_id": str(job_id), "kind": "k", "tenant_id": 1}) == (job_id, "k")
    with pytest.raises(MalformedMessage):
        parse_message_body({"job_id": str(job_id)})


def test_message_for_a_job_that_does_not_exist_is_left_to_reach_the_dlq(make_runtime, fake_queues, queue_name, db):
    fake_queues.max_receive_count = 1
    fake_queues.send(queue_name, {"job_id": str(uuid.uuid4()), "kind": "test_echo", "tenant_id": 1})
    runtime = make_runtime()

    runtime.run(max_polls=1)
    fake_queues.advance(30)
    runtime.run(max_polls=1)

    assert (fake_queues.depth(queue_name), fake_queues.depth(f"{queue_name}-dlq")) == (0, 1)


def test_message_of_a_cancelled_job_is_deleted_without_running(make_runtime, submit, fake_queues, queue_name,
                                                               test_kinds):
    job = submit()
    services.job_cancel(job_id=job.id)

    make_runtime().run(max_polls=1)

    assert test_kinds == []
    assert fake_queues.depth(queue_name) == 0
    assert Job.objects.get(id=job.id).state == JobState.CANCELLED


def test_permanent_failure_ends_failed_and_deletes_the_message(make_runtime, submit, fake_queues, queue_name):
    job = submit(kind="test_fail")

    make_runtime().run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.error_code, job.error_message) == (JobState.FAILED, "BAD_INPUT", "입력이 올바르지 않습니다.")
    assert fake_queues.depth(queue_name) == 0


@pytest.fixture
def failure_details():
    def fail_with(details) -> None:
        kinds.FAILURE_DETAILS["value"] = details

    yield fail_with
    kinds.FAILURE_DETAILS["value"] = {}


ROW_REASONS = {"skipped_count": 2, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."},
                                               {"row": 3, "code": "INVALID_GRADE", "message": "학년 오류"}]}


def test_a_failure_reports_its_details_with_its_code(make_runtime, submit, fake_queues, queue_name, failure_details):
    failure_details(ROW_REASONS)
    job = submit(kind="test_fail_details")

    make_runtime().run(max_polls=1)

    assert Job.objects.values_list("state", "error_code", "error_details").get(id=job.id) == (
        JobState.FAILED, "EXCEL_NO_ROWS", ROW_REASONS)
    assert fake_queues.depth(queue_name) == 0


def test_failure_details_jsonb_cannot_store_are_made_storable_before_they_are_sent(make_runtime, submit,
                                                                                  failure_details):
    failure_details({"cell": "a\x00b", "note": "\ud800!", "on": date(2026, 3, 1), "rows": [{"\x00": None}]})
    job = submit(kind="test_fail_details")

    make_runtime().run(max_polls=1)

    assert Job.objects.values_list("state", "error_details").get(id=job.id) == (JobState.FAILED, {
        "cell": "a\ufffdb", "note": "?!", "on": "2026-03-01", "rows": [{"\ufffd": None}]})


@pytest.mark.parametrize(("details", "sent"), [
    ({"blob": "x" * MAX_FAILURE_DETAILS_BYTES}, DETAILS_TOO_LARGE),
    ({"ratio": float("nan")}, {}),
    ({(1, 2): "a tuple key"}, {}),
    (["not", "an", "object"], {}),
])
def test_failure_details_that_cannot_be_sent_as_they_are_never_cost_the_failure_itself(
        make_runtime, submit, fake_queues, queue_name, failure_details, details, sent):
    failure_details(details)
    job = submit(kind="test_fail_details")

    make_runtime().run(max_polls=1)

    assert Job.objects.values_list("state", "error_code", "error_details").get(id=job.id) == (
        JobState.FAILED, "EXCEL_NO_ROWS", sent)
    assert fake_queues.depth(queue_name) == 0


def test_an_api_refusing_the_details_still_records_the_failure_without_them(make_runtime, submit, fake_queues,
                                                                           queue_name, failure_details, monkeypatch):
    # Given an API that refuses any details (as one from before them refuses the unknown field)
    def refuse(self, value):
        if value:
            raise serializers.ValidationError("알 수 없는 필드입니다.")
        return value

    monkeypatch.setattr(FailInputSerializer, "validate_details", refuse)
    failure_details(ROW_REASONS)
    job = submit(kind="test_fail_details")

    make_runtime().run(max_polls=1)

    assert Job.objects.values_list("state", "error_code", "error_details").get(id=job.id) == (
        JobState.FAILED, "EXCEL_NO_ROWS", {})
    assert fake_queues.depth(queue_name) == 0


def test_retryable_failure_runs_again_after_its_backoff_never_after_max_attempts_one_message_at_a_time(
    make_runtime, submit, fake_queues, queue_name, test_kinds, job_clock
):
    job = submit(kind="test_retry", max_attempts=3)
    runtime = make_runtime()
    delays, in_flight = [], []

    for _attempt in (1, 2, 3):
        runtime.run(max_polls=1)
        failed = Job.objects.get(id=job.id)
        in_flight.append(fake_queues.depth(queue_name))
        if failed.state == JobState.DEAD:
            break
        delays.append((failed.not_before - failed.updated_at).total_seconds())
        # Not yet due: the scheduler sends nothing.
        services.job_scan_stuck()
        in_flight.append(fake_queues.depth(queue_name))
        job_clock.advance(delays[-1])
        services.job_scan_stuck()
        in_flight.append(fake_queues.depth(queue_name))

    # Given backoff 5 s doubling, half of it jitter: attempt 1 waits 2.5-5 s, attempt 2 waits 5-10 s.
    assert 2.5 <= delays[0] <= 5 and 5 <= delays[1] <= 10
    assert in_flight == [0, 0, 1, 0, 0, 1, 0]
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_message) == (JobState.DEAD, 3, "외부 서비스 응답이 없습니다 (3회차).")
    assert [call[2] for call in test_kinds] == [1, 2, 3]
    # Nothing more is sent for a dead job, and nothing reached the DLQ.
    job_clock.advance(3600)
    services.job_scan_stuck()
    assert len(fake_queues.sent) == 3
    assert fake_queues.depth(f"{queue_name}-dlq") == 0


def test_a_redelivered_copy_cannot_run_a_job_before_its_backoff(make_runtime, submit, fake_queues, queue_name,
                                                                test_kinds):
    job = submit(kind="test_retry", max_attempts=3)
    runtime = make_runtime()
    runtime.run(max_polls=1)

    # A stray copy of the message (a requeue that sent a second one) arrives before the backoff ends.
    fake_queues.send(queue_name, {"job_id": str(job.id), "kind": "test_retry", "tenant_id": job.tenant_id})
    runtime.run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert [call[2] for call in test_kinds] == [1]
    assert fake_queues.depth(queue_name) == 0


def test_the_backoff_grows_per_attempt_with_jitter_and_stops_at_the_kinds_cap():
    from apps.jobs.registry import JobKindSpec

    spec = JobKindSpec(kind="k", backend="batch", queue_setting=None, handler="h", heartbeat_timeout=30,
                       retry_backoff_seconds=4, retry_backoff_max_seconds=20)

    assert [spec.retry_delay(n, rng=lambda: 0.0) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    assert [spec.retry_delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [4, 8, 16, 20]
    spread = {round(spec.retry_delay(2, rng=random.Random(seed).random), 3) for seed in range(20)}
    assert len(spread) == 20 and all(4 <= delay <= 8 for delay in spread)


def test_crashing_handler_fails_retryably_with_handler_error(make_runtime, submit, fake_queues, queue_name,
                                                             job_clock):
    job = submit(kind="test_crash", max_attempts=2)
    runtime = make_runtime()

    runtime.run(max_polls=1)
    job_clock.advance(5)
    services.job_scan_stuck()
    runtime.run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code) == (JobState.DEAD, 2, "HANDLER_ERROR")
    assert job.error_message == "작업 처리 중 예기치 않은 오류가 발생했습니다."


def test_result_that_is_not_an_object_fails_the_job(make_runtime, submit):
    job = submit(kind="test_list")

    make_runtime().run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.FAILED, "INVALID_RESULT")


def test_a_kind_no_worker_knows_is_released_with_a_backoff_and_ends_dead_when_its_attempts_are_spent(
    make_runtime, make_job, fake_queues, queue_name, job_clock
):
    job = make_job(kind="kind_from_a_newer_release", max_attempts=2)  # sent by an API already deployed with it
    fake_queues.send(queue_name, {"job_id": str(job.id), "kind": job.kind, "tenant_id": job.tenant_id})
    runtime = make_runtime()

    runtime.run(max_polls=1)
    released = Job.objects.get(id=job.id)
    # A newer worker may still take it: QUEUED again after a backoff, the message gone, one attempt charged.
    assert (released.state, released.attempts, released.error_code) == (JobState.QUEUED, 1, "JOB_KIND_UNKNOWN")
    assert released.not_before > released.updated_at
    assert fake_queues.depth(queue_name) == 0
    job_clock.advance(3600)
    # The scheduler does not know the kind either, so it is sent again by hand as an API would.
    fake_queues.send(queue_name, {"job_id": str(job.id), "kind": job.kind, "tenant_id": job.tenant_id})
    runtime.run(max_polls=1)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error_code) == (JobState.DEAD, 2, "JOB_KIND_UNKNOWN")
    assert job.finished_at is not None
    assert (fake_queues.depth(queue_name), fake_queues.depth(f"{queue_name}-dlq")) == (0, 0)


def test_job_running_elsewhere_is_left_for_after_its_lease(make_runtime, submit, fake_queues, queue_name, test_kinds):
    job = submit()
    services.job_claim(job_id=job.id)

    make_runtime().run(max_polls=1)

    assert test_kinds == []
    assert fake_queues.depth(queue_name) == 1
    # Back once the holder's heartbeat (just now) could be stale: the kind's limit 60 s, rounded up, + 1.
    assert fake_queues.queues[queue_name][0]["visible_at"] in (61, 62)
    assert Job.objects.get(id=job.id).attempts == 1


def test_idle_polls_in_a_row_exit_and_call_the_idle_hook(make_runtime, db):
    idle_exits = []
    runtime = make_runtime(idle_stop_threshold=3, on_idle_exit=lambda: idle_exits.append(True))

    assert runtime.run() == 0

    assert idle_exits == [True]


def test_ai_fleet_takes_from_its_queues_in_priority_order(make_runtime, submit, fake_queues, settings):
    job = submit(kind="test_ai")
    runtime = make_runtime(fleet="ai", queue_names=[settings.SQS_QUEUE_AI_PREMIUM, settings.SQS_QUEUE_AI_BASIC,
                                                    settings.SQS_QUEUE_AI_LITE])

    runtime.run(max_polls=1)

    assert Job.objects.get(id=job.id).state == JobState.DONE


def test_sigterm_during_a_job_finishes_it_then_exits_0(make_runtime, submit, fake_queues, queue_name, test_kinds):
    job = submit(kind="test_sigterm_finish")
    previous = signal.getsignal(signal.SIGTERM)
    submit()  # a second message that must not be taken after SIGTERM

    exit_code = make_runtime().run()

    assert exit_code == 0
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.result == {"finished": True, "stop_requested": True}
    assert fake_queues.depth(queue_name) == 1
    assert [call[0] for call in test_kinds] == ["sigterm"]
    assert signal.getsignal(signal.SIGTERM) == previous


def test_sigterm_honoured_by_the_handler_releases_the_job_at_once_in_a_new_message(
    make_runtime, submit, fake_queues, queue_name, django_capture_on_commit_callbacks
):
    job = submit(kind="test_sigterm_release")
    first_message = fake_queues.queues[queue_name][0]["id"]

    with django_capture_on_commit_callbacks(execute=True):
        exit_code = make_runtime().run()

    assert exit_code == 0
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.QUEUED, "WORKER_STOPPED")
    # No backoff for a worker going away: the job is sent again at once, the old message deleted.
    [message] = fake_queues.queues[queue_name]
    assert message["id"] == job.external_id != first_message
    assert message["visible_at"] == fake_queues.now


def test_stop_requested_while_receiving_releases_the_message(make_runtime, submit, fake_queues, queue_name,
                                                            test_kinds):
    job = submit()
    runtime = make_runtime()
    receive = fake_queues.receive

    def receive_then_stop(*args, **kwargs):
        messages = receive(*args, **kwargs)
        runtime.request_stop()
        return messages

    fake_queues.receive = receive_then_stop

    assert runtime.run() == 0

    assert test_kinds == []
    assert Job.objects.get(id=job.id).state == JobState.QUEUED
    assert fake_queues.queues[queue_name][0]["visible_at"] == fake_queues.now


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_refreshes_the_job_and_extends_visibility(make_runtime, submit, fake_queues, queue_name,
                                                                   tmp_path):
    job = submit(kind="test_block", payload={"dir": str(tmp_path)})
    runtime = make_runtime(heartbeat_interval=0.05)

    def run_once():
        try:
            runtime.run(max_polls=1)
        finally:
            connection.close()

    worker = threading.Thread(target=run_once)
    worker.start()
    try:
        wait_until(lambda: (tmp_path / "started-1").exists())
        first_heartbeat = Job.objects.get(id=job.id).heartbeat_at
        wait_until(lambda: len(fake_queues.visibility_changes) >= 2
                    and Job.objects.get(id=job.id).heartbeat_at > first_heartbeat)
    finally:
        (tmp_path / "release").touch()
        worker.join()

    # Each beat extends the hold by the window again.
    assert all(change == (queue_name, 30) for change in fake_queues.visibility_changes)
    assert Job.objects.get(id=job.id).state == JobState.DONE
    assert fake_queues.depth(queue_name) == 0


def test_idle_exit_stops_the_instance_when_self_stop_is_on(monkeypatch, settings):
    stopped = []
    monkeypatch.setitem(sys.modules, "apps.integrations.ec2",
                        types.SimpleNamespace(stop_current_instance=lambda: stopped.append(True)))
    settings.EC2_SELF_STOP = True

    stop_instance_if_configured()

    assert stopped == [True]


def test_idle_exit_leaves_the_instance_alone_when_self_stop_is_off(monkeypatch, settings):
    stopped = []
    monkeypatch.setitem(sys.modules, "apps.integrations.ec2",
                        types.SimpleNamespace(stop_current_instance=lambda: stopped.append(True)))
    settings.EC2_SELF_STOP = False

    stop_instance_if_configured()

    assert stopped == []


def test_unknown_fleet_is_refused():
    with pytest.raises(ValueError, match="unknown fleet"):
        build_runtime("video")


def test_a_queue_outage_is_not_idleness_and_never_triggers_the_idle_exit(make_runtime, fake_queues, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("queue endpoint unreachable")

    monkeypatch.setattr(fake_queues, "receive", unreachable)
    idle_exits = []
    runtime = make_runtime(idle_stop_threshold=2, on_idle_exit=lambda: idle_exits.append(True))

    assert runtime.run(max_polls=2) == 0

    assert idle_exits == []


def test_build_runtime_takes_the_window_weights_and_idle_policy_from_the_fleet_table(settings, fake_queues):
    settings.WORKER_FLEETS = {**settings.WORKER_FLEETS, "ai": {**settings.WORKER_FLEETS["ai"],
                                                              "visibility_window_seconds": 45,
                                                              "poll_weights": [0, 1], "idle_stop_threshold": 7}}

    runtime = build_runtime("ai", queues=fake_queues)

    assert (runtime.visibility_window, runtime.poll_weights, runtime.idle_stop_threshold) == (45, (0, 1), 7)
    # The polled queues only (a normal AI worker: basic and lite), weight 0 asked last.
    assert runtime.poll_order() == [settings.SQS_QUEUE_AI_LITE, settings.SQS_QUEUE_AI_BASIC]


def test_a_stale_job_with_no_attempts_left_sends_its_message_away_for_a_window_not_a_second(
    make_runtime, submit, fake_queues, queue_name, test_kinds
):
    job = submit(max_attempts=1)
    services.job_claim(job_id=job.id)
    Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    make_runtime().run(max_polls=1)

    assert test_kinds == []
    # Nothing to take over (the scheduler ends it): the message comes back after the 30 s window, not in a hot loop.
    assert fake_queues.queues[queue_name][0]["visible_at"] == 30
