import json
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role, Tenant, User
from apps.jobs.models import Job, JobState


def _expected_body(job: Job) -> dict:
    job.refresh_from_db()
    return {
        "id": str(job.id),
        "kind": job.kind,
        "status": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "result": job.result,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "created_at": timezone.localtime(job.created_at).isoformat(),
        "started_at": timezone.localtime(job.started_at).isoformat() if job.started_at else None,
        "finished_at": timezone.localtime(job.finished_at).isoformat() if job.finished_at else None,
        "updated_at": timezone.localtime(job.updated_at).isoformat(),
    }


def test_status_of_a_running_job(admin_client, make_job):
    job = make_job(state=JobState.RUNNING, progress=40, stage="검증 중")

    response = admin_client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 200
    assert response.json() == _expected_body(job)
    assert response.json()["status"] == "RUNNING"
    assert response.json()["error"] is None
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("ETag")


def test_status_of_a_failed_job_carries_the_error(admin_client, make_job):
    job = make_job(state=JobState.FAILED, error_code="BAD_INPUT", error_message="입력 오류", finished_at=timezone.now())

    body = admin_client.get(f"/api/v1/jobs/{job.id}/").json()

    assert body["error"] == {"code": "BAD_INPUT", "message": "입력 오류"}
    assert body == _expected_body(job)


def _jwt_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def test_status_poll_with_a_jwt_is_one_sql_query_including_authentication(admin_user, make_job,
                                                                          django_assert_num_queries):
    job = make_job(state=JobState.RUNNING, progress=30)
    client = _jwt_client(admin_user)

    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 200
    assert response.json() == _expected_body(job)


def test_status_poll_of_a_forced_user_is_one_sql_query(admin_client, make_job, django_assert_num_queries):
    # force_authenticate hands the view a user whose tenant is already loaded: what is left is the job itself.
    job = make_job(state=JobState.RUNNING)

    with django_assert_num_queries(1):
        response = admin_client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 200


def test_jwt_fast_path_and_session_path_answer_the_same(admin_user, admin_client, make_job):
    running = make_job(state=JobState.RUNNING, progress=30, stage="등록 중")
    done = make_job(state=JobState.DONE, result={"created": 2}, finished_at=timezone.now())
    client = _jwt_client(admin_user)

    for job in (running, done):
        fast = client.get(f"/api/v1/jobs/{job.id}/")
        usual = admin_client.get(f"/api/v1/jobs/{job.id}/")
        assert fast.status_code == usual.status_code == 200
        assert fast.json() == usual.json() == _expected_body(job)
        assert fast["Content-Type"] == "application/json"
        for header in ("Cache-Control", "ETag"):
            assert fast.get(header) == usual.get(header)
        assert "Authorization" in fast["Vary"]


def test_finished_job_with_a_jwt_answers_304_to_its_etag(admin_user, make_job):
    job = make_job(state=JobState.DONE, result={"created": 2}, finished_at=timezone.now())
    client = _jwt_client(admin_user)

    first = client.get(f"/api/v1/enrollments/excel_job_status/{job.id}/")
    again = client.get(f"/api/v1/enrollments/excel_job_status/{job.id}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert first["Cache-Control"] == "private, max-age=3600"
    assert again.status_code == 304
    assert again.content == b""


def test_done_job_with_a_presenter_shows_a_fresh_result_on_every_poll_and_is_never_cached(
        admin_user, admin_client, make_job, django_assert_num_queries):
    job = make_job(kind="test_presented", state=JobState.DONE, result={"key": "k"}, finished_at=timezone.now())
    client = _jwt_client(admin_user)

    with django_assert_num_queries(1):
        first = client.get(f"/api/v1/jobs/{job.id}/")
    second = admin_client.get(f"/api/v1/jobs/{job.id}/", HTTP_IF_NONE_MATCH='"anything"')

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["result"]["key"] == second.json()["result"]["key"] == "k"
    assert second.json()["result"]["read"] == first.json()["result"]["read"] + 1
    for response in (first, second):
        assert response["Cache-Control"] == "no-store"
        assert not response.has_header("ETag")
    job.refresh_from_db()
    assert job.result == {"key": "k"}


def test_presenter_is_not_applied_before_the_job_is_done(admin_client, make_job):
    job = make_job(kind="test_presented", state=JobState.RUNNING, result={"key": "k"})

    response = admin_client.get(f"/api/v1/jobs/{job.id}/")

    assert response.json()["result"] == {"key": "k"}
    assert response["Cache-Control"] == "no-store"


def test_status_with_a_jwt_for_another_tenants_job_is_404(admin_user, make_job, other_tenant):
    foreign = make_job(tenant=other_tenant)

    response = _jwt_client(admin_user).get(f"/api/v1/jobs/{foreign.id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_status_with_a_jwt_of_a_student_is_403(make_user, tenant, make_job):
    job = make_job()

    response = _jwt_client(make_user(tenant, Role.STUDENT)).get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 403


def test_status_with_a_jwt_of_a_deactivated_user_is_401(admin_user, make_job):
    job = make_job()
    client = _jwt_client(admin_user)
    User.objects.filter(id=admin_user.id).update(is_active=False)

    response = client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_status_with_a_jwt_when_the_tenant_is_deactivated_is_403(admin_user, tenant, make_job):
    job = make_job()
    client = _jwt_client(admin_user)
    Tenant.objects.filter(id=tenant.id).update(is_active=False)

    response = client.get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 403


def test_status_path_refuses_writes(admin_user, make_job):
    job = make_job()

    response = _jwt_client(admin_user).post(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 405
    assert Job.objects.get(id=job.id).state == JobState.QUEUED


def test_status_with_a_bad_jwt_is_401(make_job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = client.get(f"/api/v1/jobs/{make_job().id}/")

    assert response.status_code == 401


def test_status_of_another_tenants_job_is_404(admin_client, make_job, other_tenant):
    foreign = make_job(tenant=other_tenant)

    response = admin_client.get(f"/api/v1/jobs/{foreign.id}/")

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_status_of_unknown_job_is_404(admin_client, db):
    assert admin_client.get(f"/api/v1/jobs/{uuid.uuid4()}/").status_code == 404


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_students_and_parents_cannot_read_jobs(client_for, make_user, tenant, make_job, role):
    job = make_job()

    response = client_for(make_user(tenant, role)).get(f"/api/v1/jobs/{job.id}/")

    assert response.status_code == 403


def test_anonymous_is_refused(client, make_job):
    assert client.get(f"/api/v1/jobs/{make_job().id}/").status_code == 401


def test_finished_job_is_cacheable_with_etag_and_answers_304(admin_client, make_job):
    job = make_job(state=JobState.DONE, result={"created": 2}, finished_at=timezone.now())

    first = admin_client.get(f"/api/v1/jobs/{job.id}/")
    again = admin_client.get(f"/api/v1/jobs/{job.id}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert first["Cache-Control"] == "private, max-age=3600"
    assert first["ETag"].startswith('"') and len(first["ETag"]) == 34
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_excel_job_status_path_answers_the_same_body(admin_client, make_job):
    job = make_job(state=JobState.RUNNING, progress=10)

    legacy = admin_client.get(f"/api/v1/enrollments/excel_job_status/{job.id}/")
    current = admin_client.get(f"/api/v1/jobs/{job.id}/")

    assert legacy.status_code == 200
    assert legacy.json() == current.json()


def test_list_filters_by_kind_and_status_newest_first(admin_client, make_job, other_tenant):
    older = make_job(kind="test_echo", state=JobState.DONE)
    newer = make_job(kind="test_echo", state=JobState.DONE)
    make_job(kind="test_echo", state=JobState.QUEUED)
    make_job(kind="test_fail", state=JobState.DONE)
    make_job(kind="test_echo", state=JobState.DONE, tenant=other_tenant)

    response = admin_client.get("/api/v1/jobs/", {"kind": "test_echo", "status": "DONE"})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [str(newer.id), str(older.id)]


def test_list_is_paginated(admin_client, make_job):
    for _ in range(3):
        make_job()

    body = admin_client.get("/api/v1/jobs/", {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_list_refuses_an_unknown_status(admin_client, db):
    response = admin_client.get("/api/v1/jobs/", {"status": "SLEEPING"})

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_cancel_a_queued_job(admin_client, make_job):
    job = make_job()

    response = admin_client.post(f"/api/v1/jobs/{job.id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert Job.objects.get(id=job.id).state == JobState.CANCELLED


def test_cancel_a_finished_job_is_409_and_changes_nothing(admin_client, make_job):
    job = make_job(state=JobState.DONE, result={"created": 1})

    response = admin_client.post(f"/api/v1/jobs/{job.id}/cancel/")

    assert response.status_code == 409
    assert response.json()["code"] == "JOB_STATE_CONFLICT"
    assert response.json()["details"] == {"state": "DONE"}
    assert Job.objects.get(id=job.id).state == JobState.DONE


def test_cancel_another_tenants_job_is_404_and_changes_nothing(admin_client, make_job, other_tenant):
    foreign = make_job(tenant=other_tenant)

    response = admin_client.post(f"/api/v1/jobs/{foreign.id}/cancel/")

    assert response.status_code == 404
    assert Job.objects.get(id=foreign.id).state == JobState.QUEUED


def test_teacher_cannot_cancel(client_for, make_user, tenant, make_job):
    job = make_job()

    response = client_for(make_user(tenant, Role.TEACHER)).post(f"/api/v1/jobs/{job.id}/cancel/")

    assert response.status_code == 403
    assert Job.objects.get(id=job.id).state == JobState.QUEUED


def _events(chunks) -> list[tuple[str, dict]]:
    events = []
    for chunk in chunks:
        for block in chunk.decode().strip().split("\n\n"):
            name, data = block.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_events_stream_pushes_each_change_until_terminal(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    job = make_job(state=JobState.RUNNING, progress=10)

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")
    stream = iter(response.streaming_content)
    first = next(stream)
    Job.objects.filter(id=job.id).update(progress=60, updated_at=timezone.now())
    second = next(stream)
    Job.objects.filter(id=job.id).update(state=JobState.DONE, progress=100, result={"ok": True},
                                         updated_at=timezone.now())
    third = next(stream)
    rest = list(stream)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-store"
    events = _events([first, second, third])
    assert [(name, body["status"], body["progress"]) for name, body in events] == [
        ("status", "RUNNING", 10), ("status", "RUNNING", 60), ("status", "DONE", 100),
    ]
    assert rest == []


def test_events_stream_ends_with_timeout_event(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    settings.JOBS_SSE_MAX_SECONDS = 0
    job = make_job(state=JobState.QUEUED)

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")

    assert [name for name, _ in _events(response.streaming_content)] == ["status", "timeout"]


def test_events_of_another_tenants_job_is_404(admin_client, make_job, other_tenant):
    response = admin_client.get(f"/api/v1/jobs/{make_job(tenant=other_tenant).id}/events/")

    assert response.status_code == 404


def test_admin_changelist_renders_jobs_filtered_by_tenant(client, make_user, make_job, tenant):
    operator = make_user(None, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(operator)
    make_job(kind="test_echo")

    response = client.get(f"/admin/jobs/job/?tenant__id__exact={tenant.id}&q=x")

    assert response.status_code == 200
