import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.jobs import services
from apps.jobs.errors import JobDispatchError, JobNotFoundError
from apps.jobs.models import Job, JobBackend, JobState
from apps.jobs.tests.fakes import FakeQueueError


# ---------------------------------------------------------------------------
# job_submit / job_dispatch
# ---------------------------------------------------------------------------
def test_submit_creates_queued_job_and_sends_ids_only_after_commit(tenant, admin_user, fake_queues, settings,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_submit(tenant=tenant, kind="test_echo", payload={"file": "a.xlsx"}, created_by=admin_user)
        assert fake_queues.sent == []

    assert fake_queues.sent == [
        (settings.SQS_QUEUE_EXCEL, {"job_id": str(job.id), "kind": "test_echo", "tenant_id": tenant.id})
    ]
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert job.payload == {"file": "a.xlsx"}
    assert job.max_attempts == 3
    assert job.created_by == admin_user
    assert job.backend == JobBackend.QUEUE
    assert job.queue == settings.SQS_QUEUE_EXCEL
    assert job.external_id == fake_queues.queues[settings.SQS_QUEUE_EXCEL][0]["id"]


def test_submit_with_same_idempotency_key_returns_the_existing_job_and_sends_once(
    tenant, fake_queues, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.job_submit(tenant=tenant, kind="test_echo", payload={}, idempotency_key="k-1")
    with django_capture_on_commit_callbacks(execute=True):
        second = services.job_submit(tenant=tenant, kind="test_echo", payload={"other": 1}, idempotency_key="k-1")

    assert second.id == first.id
    assert Job.objects.count() == 1
    assert len(fake_queues.sent) == 1


def test_same_idempotency_key_in_another_kind_or_tenant_makes_a_new_job(tenant, other_tenant, fake_queues):
    first = services.job_submit(tenant=tenant, kind="test_echo", payload={}, idempotency_key="k-1")
    other_kind = services.job_submit(tenant=tenant, kind="test_fail", payload={}, idempotency_key="k-1")
    other_tenant_job = services.job_submit(tenant=other_tenant, kind="test_echo", payload={}, idempotency_key="k-1")

    assert len({first.id, other_kind.id, other_tenant_job.id}) == 3


def test_submit_with_given_job_id_uses_it(tenant, fake_queues):
    job_id = uuid.uuid4()

    job = services.job_submit(tenant=tenant, kind="test_echo", payload={}, job_id=job_id)

    assert job.id == job_id


def test_dispatch_to_batch_submits_name_and_id(tenant, fake_batch, settings, make_job):
    job = make_job(kind="test_batch")

    external_id = services.job_dispatch(job=job)

    assert fake_batch.submitted == [{"job_name": f"test_batch-{job.id}", "job_id": str(job.id)}]
    job.refresh_from_db()
    assert (job.backend, job.queue, job.external_id) == (JobBackend.BATCH, settings.BATCH_JOB_QUEUE, external_id)


@pytest.mark.django_db(transaction=True)
def test_submit_outside_a_transaction_raises_503_and_leaves_the_job_queued_without_external_id(tenant, fake_queues):
    fake_queues.send_error = FakeQueueError("sqs down")
    assert not connection.in_atomic_block

    with pytest.raises(JobDispatchError) as raised:
        services.job_submit(tenant=tenant, kind="test_echo", payload={})

    assert raised.value.status_code == 503
    assert raised.value.code == "JOB_ENQUEUE_FAILED"
    assert raised.value.message == "작업 큐 등록에 실패했습니다. 잠시 후 자동으로 다시 시도됩니다."
    job = Job.objects.get()
    assert job.state == JobState.QUEUED
    assert job.external_id == ""
    assert job.backend == ""


@pytest.mark.django_db(transaction=True)
def test_dispatch_failure_inside_a_transaction_keeps_the_committed_job(tenant, fake_queues):
    fake_queues.send_error = FakeQueueError("sqs down")

    with transaction.atomic():
        job = services.job_submit(tenant=tenant, kind="test_echo", payload={})

    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert job.external_id == ""


@pytest.mark.django_db(transaction=True)
def test_job_is_not_created_or_sent_when_the_surrounding_transaction_rolls_back(tenant, fake_queues):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.job_submit(tenant=tenant, kind="test_echo", payload={})
        raise RuntimeError("caller failed after submitting")

    assert Job.objects.count() == 0
    assert fake_queues.sent == []


# ---------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------
def test_claim_moves_queued_to_running_and_counts_the_attempt(make_job):
    job = make_job()

    outcome = services.job_claim(job_id=job.id)

    assert outcome.won
    assert outcome.job.state == JobState.RUNNING
    assert outcome.job.attempts == 1
    assert outcome.job.started_at is not None
    assert outcome.job.heartbeat_at == outcome.job.started_at


def test_claim_of_a_queued_job_is_one_update_and_one_read(make_job, django_assert_num_queries):
    job = make_job()

    with django_assert_num_queries(2):
        outcome = services.job_claim(job_id=job.id)

    assert (outcome.won, outcome.job.state) == (True, JobState.RUNNING)


def test_claim_of_a_job_that_has_ended_loses_and_changes_nothing(make_job):
    job = make_job(state=JobState.DONE, attempts=1)

    outcome = services.job_claim(job_id=job.id)

    assert not outcome.won
    assert (outcome.job.state, outcome.job.attempts) == (JobState.DONE, 1)


def test_second_claim_of_a_running_job_loses_and_changes_nothing(make_job):
    job = make_job()
    services.job_claim(job_id=job.id)

    outcome = services.job_claim(job_id=job.id)

    assert not outcome.won
    assert outcome.job.state == JobState.RUNNING
    assert outcome.job.attempts == 1


def test_claim_takes_over_a_running_job_whose_heartbeat_is_stale(make_job):
    job = make_job(state=JobState.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=61))

    outcome = services.job_claim(job_id=job.id)

    assert outcome.won
    assert outcome.job.attempts == 2


def test_claim_does_not_take_over_a_stale_job_without_attempts_left(make_job):
    job = make_job(state=JobState.RUNNING, attempts=3, heartbeat_at=timezone.now() - timedelta(seconds=61))

    outcome = services.job_claim(job_id=job.id)

    assert not outcome.won
    assert outcome.job.attempts == 3


def test_claim_of_unknown_job_raises_not_found(db):
    with pytest.raises(JobNotFoundError):
        services.job_claim(job_id=uuid.uuid4())


def test_progress_updates_progress_stage_and_heartbeat(make_job):
    job = make_job(state=JobState.RUNNING, heartbeat_at=timezone.now() - timedelta(seconds=30))

    outcome = services.job_progress(job_id=job.id, percent=40, stage="검증 중", attempt=1)

    assert outcome.won
    assert (outcome.job.progress, outcome.job.stage) == (40, "검증 중")
    assert outcome.job.heartbeat_at > job.heartbeat_at


def test_progress_from_an_older_attempt_loses(make_job):
    job = make_job(state=JobState.RUNNING, attempts=2)

    outcome = services.job_progress(job_id=job.id, percent=40, attempt=1)

    assert not outcome.won
    assert outcome.job.progress == 0


def test_complete_records_the_result(make_job, test_kinds):
    job = make_job(state=JobState.RUNNING, error_code="PROVIDER_DOWN", error_message="이전 오류")

    outcome = services.job_complete(job_id=job.id, result={"created": 3}, attempt=1)

    assert outcome.won and not outcome.noop
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.result == {"created": 3}
    assert job.progress == 100
    assert job.finished_at is not None
    assert (job.error_code, job.error_message) == ("", "")


def test_complete_again_with_the_same_result_is_a_noop_success(make_job):
    job = make_job(state=JobState.RUNNING)
    services.job_complete(job_id=job.id, result={"created": 3})
    finished_at = Job.objects.get(id=job.id).finished_at

    outcome = services.job_complete(job_id=job.id, result={"created": 3})

    assert outcome.won and outcome.noop
    assert outcome.job.finished_at == finished_at


def test_complete_again_with_another_result_is_a_conflict(make_job):
    job = make_job(state=JobState.RUNNING)
    services.job_complete(job_id=job.id, result={"created": 3})

    outcome = services.job_complete(job_id=job.id, result={"created": 4})

    assert not outcome.won
    assert outcome.job.result == {"created": 3}


def test_complete_of_a_queued_job_loses(make_job):
    job = make_job()

    outcome = services.job_complete(job_id=job.id, result={})

    assert not outcome.won
    assert outcome.job.state == JobState.QUEUED


def test_on_terminal_hook_runs_once_after_commit(make_job, test_kinds, django_capture_on_commit_callbacks):
    job = make_job(state=JobState.RUNNING)

    with django_capture_on_commit_callbacks(execute=True):
        services.job_complete(job_id=job.id, result={})
        services.job_complete(job_id=job.id, result={})

    assert test_kinds == [("on_terminal", str(job.id), 1)]


def test_retryable_failure_with_attempts_left_goes_back_to_queued(make_job):
    job = make_job(kind="test_retry", state=JobState.RUNNING, max_attempts=3)

    outcome = services.job_fail(job_id=job.id, code="PROVIDER_DOWN", message="응답 없음", retryable=True)

    assert outcome.won
    job.refresh_from_db()
    assert job.state == JobState.QUEUED
    assert (job.error_code, job.error_message) == ("PROVIDER_DOWN", "응답 없음")
    assert job.finished_at is None
    assert job.heartbeat_at is None


def test_retryable_failure_of_the_last_attempt_is_dead(make_job):
    job = make_job(kind="test_retry", state=JobState.RUNNING, attempts=3, max_attempts=3)

    outcome = services.job_fail(job_id=job.id, code="PROVIDER_DOWN", message="응답 없음", retryable=True)

    assert outcome.won
    assert outcome.job.state == JobState.DEAD
    assert outcome.job.error_code == "PROVIDER_DOWN"
    assert outcome.job.finished_at is not None


def test_final_retryable_failure_is_dead_even_with_attempts_left(make_job):
    job = make_job(kind="test_retry", state=JobState.RUNNING, attempts=1, max_attempts=3)

    outcome = services.job_fail(job_id=job.id, code="PROVIDER_DOWN", message="응답 없음", retryable=True, final=True)

    assert outcome.job.state == JobState.DEAD


def test_non_retryable_failure_is_failed(make_job):
    job = make_job(state=JobState.RUNNING)

    outcome = services.job_fail(job_id=job.id, code="BAD_INPUT", message="입력 오류")

    assert outcome.won
    assert outcome.job.state == JobState.FAILED


ROW_REASONS = {"skipped_count": 1, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}]}


@pytest.mark.parametrize(("retryable", "state"), [(False, JobState.FAILED), (True, JobState.QUEUED)])
def test_a_failure_keeps_its_details_beside_its_code_and_message(make_job, retryable, state):
    job = make_job(kind="test_retry", state=JobState.RUNNING)

    outcome = services.job_fail(job_id=job.id, code="EXCEL_NO_ROWS", message="등록할 학생 데이터가 없습니다.",
                                retryable=retryable, attempt=1, details=ROW_REASONS)

    assert outcome.won
    assert Job.objects.values_list("state", "error_code", "error_message", "error_details").get(id=job.id) == (
        state, "EXCEL_NO_ROWS", "등록할 학생 데이터가 없습니다.", ROW_REASONS)


def test_a_failure_without_details_stores_an_empty_object(make_job):
    job = make_job(state=JobState.RUNNING)

    services.job_fail(job_id=job.id, code="BAD_INPUT", message="입력 오류")

    assert Job.objects.values_list("error_details", flat=True).get(id=job.id) == {}


def _succeeds(job_id, attempt):
    return services.job_complete(job_id=job_id, result={"created": 1}, attempt=attempt)


def _fails_without_details(job_id, attempt):
    return services.job_fail(job_id=job_id, code="BAD_INPUT", message="입력 오류", attempt=attempt)


def _fails_retryably_without_details(job_id, attempt):
    return services.job_fail(job_id=job_id, code="PROVIDER_DOWN", message="응답 없음", retryable=True,
                             attempt=attempt)


def _fails_with_other_details(job_id, attempt):
    return services.job_fail(job_id=job_id, code="EXCEL_NO_ROWS", message="없음", attempt=attempt,
                             details={"skipped_count": 0})


def _times_out(job_id, attempt):
    return services.job_mark_dead(job_id=job_id, code="HEARTBEAT_TIMEOUT", message="응답 없음")


@pytest.mark.parametrize(("later", "error"), [
    (_succeeds, ("", "", {})),
    (_fails_without_details, ("BAD_INPUT", "입력 오류", {})),
    (_fails_retryably_without_details, ("PROVIDER_DOWN", "응답 없음", {})),
    (_fails_with_other_details, ("EXCEL_NO_ROWS", "없음", {"skipped_count": 0})),
    (_times_out, ("HEARTBEAT_TIMEOUT", "응답 없음", {})),
])
def test_the_details_of_an_earlier_attempt_do_not_outlive_it(make_job, later, error):
    # Given a first attempt that failed retryably with details, and the job claimed again once due
    job = make_job(kind="test_retry", state=JobState.RUNNING, max_attempts=3)
    services.job_fail(job_id=job.id, code="STORAGE_DOWN", message="저장소 오류", retryable=True, attempt=1,
                      details={"bucket": "excel"})
    assert services.job_claim(job_id=job.id, now=timezone.now() + timedelta(hours=1)).won

    # When the second attempt ends another way
    assert later(job.id, 2).won

    # Then the error shown is that ending's alone
    assert Job.objects.values_list("error_code", "error_message", "error_details").get(id=job.id) == error


def test_retryable_failure_gives_the_dispatch_back_and_waits_its_backoff(make_job, fake_batch,
                                                                           django_capture_on_commit_callbacks):
    job = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-0")

    with django_capture_on_commit_callbacks(execute=True):
        services.job_fail(job_id=job.id, code="FFMPEG_CRASHED", message="변환 실패", retryable=True, attempt=1)

    job.refresh_from_db()
    assert (job.state, job.external_id) == (JobState.QUEUED, "")
    # attempt 1 of a kind with the default 5 s backoff: 2.5-5 s, and nothing sent before it.
    assert 2.5 <= (job.not_before - job.updated_at).total_seconds() <= 5
    assert fake_batch.submitted == []
    assert services.job_dispatch(job=job) == ""
    assert fake_batch.submitted == []


def test_a_worker_that_stops_gives_its_job_back_for_dispatch_at_once(make_job, fake_batch,
                                                                     django_capture_on_commit_callbacks):
    job = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-0")

    with django_capture_on_commit_callbacks(execute=True):
        services.job_fail(job_id=job.id, code="WORKER_STOPPED", message="작업자 종료", retryable=True, attempt=1)

    job.refresh_from_db()
    assert (job.state, job.external_id) == (JobState.QUEUED, "batch-1")
    assert fake_batch.submitted == [{"job_name": f"test_batch-{job.id}", "job_id": str(job.id)}]


def test_claim_of_a_queued_job_before_its_not_before_loses(make_job):
    job = make_job(not_before=timezone.now() + timedelta(seconds=30))

    outcome = services.job_claim(job_id=job.id)

    assert not outcome.won
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.QUEUED, 0)


def test_failing_a_done_job_loses_and_keeps_the_result(make_job):
    job = make_job(state=JobState.DONE, result={"created": 1})

    outcome = services.job_fail(job_id=job.id, code="BAD_INPUT", message="입력 오류")

    assert not outcome.won
    job.refresh_from_db()
    assert job.state == JobState.DONE
    assert job.error_code == ""


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING])
def test_cancel_from_active_states(make_job, state):
    job = make_job(state=state)

    outcome = services.job_cancel(job_id=job.id)

    assert outcome.won
    assert outcome.job.state == JobState.CANCELLED
    assert outcome.job.finished_at is not None


def test_cancelling_a_batch_job_terminates_it_after_commit(make_job, fake_batch, django_capture_on_commit_callbacks):
    job = make_job(kind="test_batch", state=JobState.RUNNING, backend=JobBackend.BATCH, external_id="batch-7")

    with django_capture_on_commit_callbacks(execute=True):
        services.job_cancel(job_id=job.id)
        assert fake_batch.terminated == []

    assert fake_batch.terminated == [("batch-7", "작업이 취소되었습니다.")]


def test_cancelling_a_queue_job_terminates_nothing(make_job, fake_batch, django_capture_on_commit_callbacks):
    job = make_job(state=JobState.RUNNING, backend=JobBackend.QUEUE, external_id="m-1")

    with django_capture_on_commit_callbacks(execute=True):
        services.job_cancel(job_id=job.id)

    assert fake_batch.terminated == []


def test_requeue_only_when_heartbeat_is_stale(make_job):
    now = timezone.now()
    fresh = make_job(state=JobState.RUNNING, heartbeat_at=now)
    stale = make_job(state=JobState.RUNNING, heartbeat_at=now - timedelta(minutes=5), external_id="m-1")

    assert not services.job_requeue(job_id=fresh.id, stale_before=now - timedelta(minutes=1)).won
    outcome = services.job_requeue(job_id=stale.id, stale_before=now - timedelta(minutes=1))

    assert outcome.won
    assert outcome.job.state == JobState.QUEUED
    assert outcome.job.external_id == ""
    assert Job.objects.get(id=fresh.id).state == JobState.RUNNING


TERMINAL = [JobState.DONE, JobState.FAILED, JobState.DEAD, JobState.CANCELLED]
EVERY_TRANSITION = {
    "claim": lambda job: services.job_claim(job_id=job.id),
    "heartbeat": lambda job: services.job_heartbeat(job_id=job.id),
    "progress": lambda job: services.job_progress(job_id=job.id, percent=5),
    "complete": lambda job: services.job_complete(job_id=job.id, result={"other": True}),
    "fail": lambda job: services.job_fail(job_id=job.id, code="OTHER", message="다른 오류", retryable=True),
    "cancel": lambda job: services.job_cancel(job_id=job.id),
    "requeue": lambda job: services.job_requeue(job_id=job.id, stale_before=timezone.now() + timedelta(days=1)),
    "mark_dead": lambda job: services.job_mark_dead(job_id=job.id, code="OTHER", message="다른 오류"),
}


@pytest.mark.parametrize("state", TERMINAL)
@pytest.mark.parametrize("transition", sorted(EVERY_TRANSITION))
def test_terminal_states_never_change(make_job, state, transition):
    job = make_job(state=state, attempts=1, result={"kept": True}, error_code="KEPT", error_message="유지")
    before = Job.objects.filter(id=job.id).values().get()

    outcome = EVERY_TRANSITION[transition](job)

    assert not outcome.won or outcome.noop
    assert Job.objects.filter(id=job.id).values().get() == before


# ---------------------------------------------------------------------------
# Races on real Postgres
# ---------------------------------------------------------------------------
def _race(actions: list) -> list:
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index):
        try:
            barrier.wait()
            results[index] = actions[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_consumers_racing_to_claim_the_same_job_exactly_one_wins(make_job):
    for _ in range(5):
        job = make_job()

        results = _race([lambda job=job: services.job_claim(job_id=job.id).won] * 2)

        assert sorted(results) == [False, True]
        assert Job.objects.get(id=job.id).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_complete_racing_with_cancel_ends_in_exactly_one_terminal_state(make_job):
    for _ in range(5):
        job = make_job(state=JobState.RUNNING)

        completed, cancelled = _race([
            lambda job=job: services.job_complete(job_id=job.id, result={"ok": True}).won,
            lambda job=job: services.job_cancel(job_id=job.id).won,
        ])

        job.refresh_from_db()
        assert [completed, cancelled].count(True) == 1
        assert job.state == (JobState.DONE if completed else JobState.CANCELLED)


def test_transitions_naming_a_dispatch_leave_a_job_that_was_sent_again_alone(make_job):
    stale = timezone.now() - timedelta(hours=1)
    running = make_job(state=JobState.RUNNING, heartbeat_at=stale, external_id="batch-2")
    queued = make_job(state=JobState.QUEUED, external_id="batch-2")

    requeue = services.job_requeue(job_id=running.id, stale_before=timezone.now(), external_id="batch-1")
    dead = services.job_mark_dead(job_id=running.id, code="BATCH_JOB_LOST", message="x", external_id="batch-1")
    released = services.job_release_lost_dispatch(job_id=queued.id, external_id="batch-1")

    assert (requeue.won, dead.won, released.won) == (False, False, False)
    assert Job.objects.get(id=running.id).state == JobState.RUNNING
    assert Job.objects.values_list("external_id", "attempts").get(id=queued.id) == ("batch-2", 0)


def test_a_lost_dispatch_is_released_and_charged_an_attempt(make_job):
    job = make_job(state=JobState.QUEUED, external_id="batch-1")

    released = services.job_release_lost_dispatch(job_id=job.id, external_id="batch-1")

    assert released.won is True
    assert (released.job.state, released.job.external_id, released.job.attempts) == (JobState.QUEUED, "", 1)


def test_a_retryable_fail_reported_twice_is_a_no_op_the_second_time(make_job):
    job = make_job(state=JobState.RUNNING)

    first = services.job_fail(job_id=job.id, code="STORAGE_DOWN", message="x", retryable=True, attempt=1)
    again = services.job_fail(job_id=job.id, code="STORAGE_DOWN", message="x", retryable=True, attempt=1)

    assert (first.won, first.noop) == (True, False)
    assert (again.won, again.noop) == (True, True)
    assert Job.objects.values_list("state", "attempts").get(id=job.id) == (JobState.QUEUED, 1)


def test_a_job_two_callers_both_read_as_unsent_is_sent_once(make_job, fake_queues):
    # Given a released job read by its own dispatch after commit and by a scheduler pass
    job = make_job(not_before=timezone.now())
    first_read, second_read = Job.objects.get(id=job.id), Job.objects.get(id=job.id)

    sent = services.job_dispatch(job=first_read)
    again = services.job_dispatch(job=second_read)

    assert (sent != "", again) == (True, "")
    assert len(fake_queues.sent) == 1
    assert Job.objects.get(id=job.id).external_id == sent
