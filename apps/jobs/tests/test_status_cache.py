"""The status poll's Redis cache: a warm poll runs no SQL, and no change to a job, user or tenant is served stale."""

import ast
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role
from apps.jobs import apis, services
from apps.jobs.models import Job, JobBackend, JobState
from apps.jobs.tests.test_apis import _expected_body


def _jwt_client(user, token=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token or AccessToken.for_user(user)}")
    return client


def _url(job) -> str:
    return f"/api/v1/jobs/{job.id}/"


@pytest.fixture
def poller(admin_user):
    return _jwt_client(admin_user)


def test_a_warm_poll_runs_no_sql_and_answers_exactly_like_the_first(poller, make_job, django_assert_num_queries):
    job = make_job(state=JobState.RUNNING, progress=30, stage="등록 중")
    with django_assert_num_queries(1):
        first = poller.get(_url(job))

    with django_assert_num_queries(0):
        warm = poller.get(_url(job))

    assert warm.status_code == first.status_code == 200
    assert warm.content == first.content
    assert warm.json() == _expected_body(job)
    for header in ("Content-Type", "Cache-Control", "Vary"):
        assert warm[header] == first[header]
    assert warm["Cache-Control"] == "no-store"


def test_a_warm_poll_of_a_finished_job_answers_304_to_its_etag_without_sql(poller, make_job,
                                                                          django_assert_num_queries):
    job = make_job(state=JobState.DONE, result={"created": 2}, finished_at=timezone.now())
    first = poller.get(_url(job))

    with django_assert_num_queries(0):
        warm = poller.get(_url(job))
        again = poller.get(_url(job), HTTP_IF_NONE_MATCH=first["ETag"])

    assert (warm.status_code, again.status_code) == (200, 304)
    assert warm["ETag"] == again["ETag"] == first["ETag"]
    assert warm["Cache-Control"] == again["Cache-Control"] == "private, max-age=3600"
    assert again.content == b""


def test_a_done_job_with_a_presented_result_is_read_from_the_database_on_every_poll(
        poller, make_job, django_assert_num_queries):
    job = make_job(kind="test_presented", state=JobState.DONE, result={"key": "k"}, finished_at=timezone.now())
    reads = []
    for _ in range(2):
        with django_assert_num_queries(1):
            reads.append(poller.get(_url(job)).json()["result"]["read"])

    assert reads[1] == reads[0] + 1


def _claim(job):
    return services.job_claim(job_id=job.id)


def _heartbeat(job):
    return services.job_heartbeat(job_id=job.id, attempt=1)


def _progress(job):
    return services.job_progress(job_id=job.id, percent=70, stage="마무리", attempt=1)


def _record_result(job):
    return services.TransitionResult(services.job_record_result(job_id=job.id, result={"created": 9}), job)


def _complete(job):
    return services.job_complete(job_id=job.id, result={"created": 3}, attempt=1)


def _fail(job):
    return services.job_fail(job_id=job.id, code="BAD_INPUT", message="입력 오류", attempt=1)


def _fail_retryably(job):
    return services.job_fail(job_id=job.id, code="PROVIDER_DOWN", message="잠시 후", retryable=True, attempt=1)


def _cancel(job):
    return services.job_cancel(job_id=job.id)


def _requeue(job):
    return services.job_requeue(job_id=job.id, stale_before=timezone.now() + timedelta(minutes=1))


def _mark_dead(job):
    return services.job_mark_dead(job_id=job.id, code="JOB_STUCK", message="응답 없음")


def _release_lost_dispatch(job):
    return services.job_release_lost_dispatch(job_id=job.id, external_id="sent-1")


@pytest.mark.parametrize(("start", "change"), [
    (JobState.QUEUED, _claim),
    (JobState.RUNNING, _heartbeat),
    (JobState.RUNNING, _progress),
    (JobState.RUNNING, _record_result),
    (JobState.RUNNING, _complete),
    (JobState.RUNNING, _fail),
    (JobState.RUNNING, _fail_retryably),
    (JobState.RUNNING, _cancel),
    (JobState.RUNNING, _requeue),
    (JobState.RUNNING, _mark_dead),
    (JobState.QUEUED, _release_lost_dispatch),
])
def test_every_transition_is_seen_by_the_next_poll(poller, make_job, start, change):
    job = make_job(state=start, backend=JobBackend.QUEUE, external_id="sent-1")
    before = poller.get(_url(job)).json()
    assert poller.get(_url(job)).json() == before  # served from the cache

    with time_machine.travel(timezone.now() + timedelta(seconds=1)):  # every change moves updated_at
        assert change(job).won

    after = poller.get(_url(job))
    assert after.json() == _expected_body(job)
    assert after.json() != before


def test_failure_details_are_seen_by_the_next_poll_and_go_with_the_error_when_a_retry_succeeds(poller, make_job):
    # Given a running job whose status is cached
    job = make_job(kind="test_retry", state=JobState.RUNNING, backend=JobBackend.QUEUE, external_id="sent-1")
    assert poller.get(_url(job)).json()["error"] is None
    assert poller.get(_url(job)).json()["error"] is None  # served from the cache
    details = {"skipped_count": 1, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}]}
    later = timezone.now() + timedelta(minutes=10)

    # When its first attempt fails retryably with details
    with time_machine.travel(timezone.now() + timedelta(seconds=1)):
        services.job_fail(job_id=job.id, code="STORAGE_DOWN", message="저장소 오류", retryable=True, attempt=1,
                          details=details)
    failed = [poller.get(_url(job)).json() for _ in range(2)]

    # Then each poll shows them; and once the retry succeeds, no poll shows them any more
    assert failed[0] == failed[1] == _expected_body(job)
    assert failed[0]["error"] == {"code": "STORAGE_DOWN", "message": "저장소 오류", "details": details}
    with time_machine.travel(later):
        assert services.job_claim(job_id=job.id).won
        assert services.job_complete(job_id=job.id, result={"created": 1}, attempt=2).won
    done = [poller.get(_url(job)).json() for _ in range(2)]
    assert done[0] == done[1] == _expected_body(job)
    assert (done[0]["status"], done[0]["error"]) == ("DONE", None)


def test_a_dispatch_is_seen_by_the_next_poll(poller, make_job, fake_queues):
    job = make_job(state=JobState.QUEUED)
    before = poller.get(_url(job)).json()

    with time_machine.travel(timezone.now() + timedelta(seconds=1)):
        services.job_dispatch(job=job)

    assert poller.get(_url(job)).json()["updated_at"] != before["updated_at"]
    assert poller.get(_url(job)).json() == _expected_body(job)


def test_a_deleted_job_is_404_at_the_next_poll(poller, make_job):
    job = make_job(state=JobState.RUNNING)
    assert poller.get(_url(job)).status_code == 200

    Job.objects.filter(id=job.id).delete()

    assert poller.get(_url(job)).status_code == 404


def _deactivate_user(user, tenant):
    user.is_active = False
    user.save()


def _make_student(user, tenant):
    user.role = Role.STUDENT
    user.save()


def _delete_user(user, tenant):
    user.delete()


def _deactivate_tenant(user, tenant):
    tenant.is_active = False
    tenant.save()


@pytest.mark.parametrize(("change", "refusal"), [
    (_deactivate_user, 401), (_make_student, 403), (_delete_user, 401), (_deactivate_tenant, 403),
])
def test_a_change_to_the_user_or_tenant_in_the_admin_is_seen_at_the_next_poll(poller, admin_user, tenant, make_job,
                                                                             change, refusal):
    job = make_job(state=JobState.RUNNING)
    assert poller.get(_url(job)).status_code == 200

    change(admin_user, tenant)

    assert poller.get(_url(job)).status_code == refusal


def test_a_cached_job_of_another_academy_is_still_404(poller, make_user, other_tenant, make_job):
    foreign = make_job(tenant=other_tenant, state=JobState.RUNNING)
    own = make_job(state=JobState.RUNNING)
    # Both entries the poll needs are cached: the job (by its own academy's admin) and the poller's staff tenant.
    assert _jwt_client(make_user(other_tenant, Role.ADMIN)).get(_url(foreign)).status_code == 200
    assert poller.get(_url(own)).status_code == 200

    response = poller.get(_url(foreign))

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_a_remembered_token_is_refused_once_it_expires(admin_user, make_job):
    job = make_job(state=JobState.RUNNING)
    token = AccessToken.for_user(admin_user)
    client = _jwt_client(admin_user, token)
    assert client.get(_url(job)).status_code == 200

    with time_machine.travel(timezone.now() + settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] + timedelta(seconds=1)):
        response = client.get(_url(job))

    assert response.status_code == 401


def test_a_token_with_a_changed_signature_is_refused_after_the_genuine_one_was_remembered(admin_user, make_job):
    job = make_job(state=JobState.RUNNING)
    token = str(AccessToken.for_user(admin_user))
    assert _jwt_client(admin_user, token).get(_url(job)).status_code == 200
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    assert _jwt_client(admin_user, forged).get(_url(job)).status_code == 401


def test_without_redis_the_poll_reads_the_database(poller, make_job, settings, django_assert_num_queries):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    job = make_job(state=JobState.RUNNING, progress=10)

    for _ in range(2):
        with django_assert_num_queries(1):
            response = poller.get(_url(job))
        assert response.status_code == 200
        assert response.json() == _expected_body(job)


def test_an_unknown_job_is_404_and_is_not_cached(poller, db):
    missing = uuid.uuid4()

    assert poller.get(f"/api/v1/jobs/{missing}/").status_code == 404
    assert apis.status_cache.lookup(job_id=missing, user_id=0).job.value is None


def _updates_of_job_rows(source: str) -> list[int]:
    """Lines calling .update( on a chain that starts with Job (Job.objects...update)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
            receiver = node.func.value
            while isinstance(receiver, (ast.Call, ast.Attribute, ast.Subscript)):
                receiver = receiver.func if isinstance(receiver, ast.Call) else receiver.value
            if isinstance(receiver, ast.Name) and receiver.id == "Job":
                lines.append(node.lineno)
    return lines


def test_job_rows_are_updated_only_through_the_services_write_which_invalidates_the_cache():
    apps_dir = Path(settings.BASE_DIR) / "apps"
    offenders = {
        str(path.relative_to(apps_dir)): lines
        for path in apps_dir.rglob("*.py")
        if "tests" not in path.parts and (lines := _updates_of_job_rows(path.read_text()))
    }

    assert offenders == {}
    # The scan does see the shapes such a write takes.
    assert _updates_of_job_rows("Job.objects.filter(id=1).update(state='DONE')\n"
                                "Job.objects.filter(id=1)[:1].select_for_update()\n"
                                "n = Job.objects.all().filter(x=2).update(progress=3)") == [1, 3]
