import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role, Tenant, User
from apps.jobs import events, services
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
        "error": ({"code": job.error_code, "message": job.error_message, "details": job.error_details}
                  if job.error_code else None),
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


def test_status_of_a_failed_job_carries_the_error_in_the_api_error_shape(admin_client, make_job):
    job = make_job(state=JobState.FAILED, error_code="BAD_INPUT", error_message="입력 오류", finished_at=timezone.now())

    body = admin_client.get(f"/api/v1/jobs/{job.id}/").json()

    assert body["error"] == {"code": "BAD_INPUT", "message": "입력 오류", "details": {}}
    assert body == _expected_body(job)


def test_status_of_a_failed_job_carries_its_details(admin_user, admin_client, make_job):
    details = {"skipped_count": 1, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}]}
    job = make_job(state=JobState.FAILED, error_code="EXCEL_NO_ROWS", error_message="등록할 학생 데이터가 없습니다.",
                   error_details=details, finished_at=timezone.now())

    for client in (admin_client, _jwt_client(admin_user)):
        body = client.get(f"/api/v1/jobs/{job.id}/").json()
        assert body["error"] == {"code": "EXCEL_NO_ROWS", "message": "등록할 학생 데이터가 없습니다.",
                                 "details": details}
        assert body == _expected_body(job)


def test_the_schema_documents_the_status_error_as_the_api_error_shape(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()

    error = schema["components"]["schemas"]["JobErrorOutput"]
    assert set(error["properties"]) == {"code", "message", "details"}
    assert set(error["required"]) == {"code", "message", "details"}
    assert error["properties"]["details"]["type"] == "object"


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


def test_admin_changelist_renders_jobs_filtered_by_tenant(client, make_user, make_job, tenant):
    operator = make_user(None, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(operator)
    make_job(kind="test_echo")

    response = client.get(f"/admin/jobs/job/?tenant__id__exact={tenant.id}&q=x")

    assert response.status_code == 200


# ---------------------------------------------------------------------------
# Events: GET /api/v1/jobs/<id>/events/ and its ticket
# ---------------------------------------------------------------------------
def _sse(chunks) -> list[dict]:
    """The events in the chunks, each as its fields (data parsed), heartbeat comments left out."""
    parsed = []
    for chunk in chunks:
        for block in chunk.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
            if fields:
                parsed.append({**fields, "data": json.loads(fields["data"])})
    return parsed


def _version(job: Job) -> str:
    job.refresh_from_db()
    return f"{job.state}.{int(job.updated_at.timestamp() * 1_000_000)}"


def _ticket(client: APIClient, job: Job) -> dict:
    response = client.post(f"/api/v1/jobs/{job.id}/events/ticket/")
    assert response.status_code == 200, response.content
    return response.json()


def _stream_with_ticket(job: Job, ticket: str, **headers):
    return APIClient().get(f"/api/v1/jobs/{job.id}/events/", {"ticket": ticket}, HTTP_ACCEPT="text/event-stream",
                           **headers)


def test_events_stream_pushes_each_change_then_an_end_event_with_a_long_retry(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    job = make_job(state=JobState.RUNNING, progress=10)
    running = _version(job)

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")
    stream = iter(response.streaming_content)
    first = next(stream)
    Job.objects.filter(id=job.id).update(progress=60, updated_at=timezone.now())
    second = next(stream)
    progressed = _version(job)
    Job.objects.filter(id=job.id).update(state=JobState.DONE, progress=100, result={"ok": True},
                                         updated_at=timezone.now())
    third = next(stream)
    done = _version(job)
    rest = list(stream)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-store"
    assert [(e["event"], e["id"], e["data"]["status"], e["data"]["progress"]) for e in _sse([first, second, third])] \
        == [("status", running, "RUNNING", 10), ("status", progressed, "RUNNING", 60), ("status", done, "DONE", 100)]
    assert _sse(rest) == [{"retry": "86400000", "id": done, "event": "end",
                           "data": {"id": str(job.id), "status": "DONE"}}]
    assert events.stream_slots.in_use == 0


def test_events_stream_shows_a_failure_with_its_details_then_ends(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    job = make_job(state=JobState.RUNNING)
    details = {"skipped_count": 1, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."}]}

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")
    stream = iter(response.streaming_content)
    running = next(stream)
    services.job_fail(job_id=job.id, code="EXCEL_NO_ROWS", message="등록할 학생 데이터가 없습니다.", attempt=1,
                      details=details)
    failed, end = _sse(list(stream))

    assert _sse([running])[0]["data"]["error"] is None
    assert (failed["event"], failed["data"]) == ("status", _expected_body(job))
    assert failed["data"]["error"] == {"code": "EXCEL_NO_ROWS", "message": "등록할 학생 데이터가 없습니다.",
                                       "details": details}
    assert (end["event"], end["data"]) == ("end", {"id": str(job.id), "status": "FAILED"})


def test_events_stream_of_an_unfinished_job_ends_with_timeout_and_a_short_retry(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    settings.JOBS_SSE_MAX_SECONDS = 0
    job = make_job(state=JobState.QUEUED)

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")

    status_event, timeout_event = _sse(response.streaming_content)
    assert (status_event["event"], status_event["id"], "retry" in status_event) == ("status", _version(job), False)
    assert timeout_event == {"retry": "3000", "id": _version(job), "event": "timeout", "data": {"id": str(job.id)}}


def test_events_reconnect_after_a_timeout_does_not_repeat_the_status_it_has(admin_client, make_job, settings):
    settings.JOBS_SSE_POLL_SECONDS = 0.01
    settings.JOBS_SSE_MAX_SECONDS = 0
    job = make_job(state=JobState.RUNNING)

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_LAST_EVENT_ID=_version(job))

    assert response.status_code == 200
    chunks = list(response.streaming_content)
    assert chunks[0] == b":\n\n"
    assert [e["event"] for e in _sse(chunks)] == ["timeout"]


def test_events_reconnect_after_the_terminal_event_is_204_and_opens_no_stream(admin_client, make_job, settings):
    settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS = 1
    job = make_job(state=JobState.FAILED, error_code="BAD_INPUT", error_message="입력 오류")

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_LAST_EVENT_ID=_version(job))

    assert response.status_code == 204
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert events.stream_slots.in_use == 0


def test_events_reconnect_that_missed_the_terminal_change_gets_it_then_end(admin_client, make_job):
    job = make_job(state=JobState.RUNNING)
    seen = _version(job)
    Job.objects.filter(id=job.id).update(state=JobState.DONE, updated_at=timezone.now())

    response = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_LAST_EVENT_ID=seen)

    assert response.status_code == 200
    assert [(e["event"], e["id"]) for e in _sse(response.streaming_content)] == [
        ("status", _version(job)), ("end", _version(job))]


def test_events_with_a_bearer_jwt_still_stream(admin_user, make_job):
    job = make_job(state=JobState.DONE)

    response = _jwt_client(admin_user).get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 200
    assert [e["event"] for e in _sse(response.streaming_content)] == ["status", "end"]


def test_events_with_a_bad_jwt_is_401_in_json(make_job):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = client.get(f"/api/v1/jobs/{make_job().id}/events/", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_events_of_another_tenants_job_is_404(admin_client, make_job, other_tenant):
    response = admin_client.get(f"/api/v1/jobs/{make_job(tenant=other_tenant).id}/events/")

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_ticket_answers_the_stream_url_and_its_expiry(admin_client, make_job, settings):
    settings.JOBS_EVENTS_TICKET_SECONDS = 600
    job = make_job(state=JobState.DONE)
    before = timezone.now().replace(microsecond=0)

    response = admin_client.post(f"/api/v1/jobs/{job.id}/events/ticket/")

    after = timezone.now()
    body = response.json()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert sorted(body) == ["expires_at", "ticket", "url"]
    assert body["url"] == f"http://testserver/api/v1/jobs/{job.id}/events/?{urlencode({'ticket': body['ticket']})}"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(seconds=600) <= expires_at <= after + timedelta(seconds=600)


def test_ticket_opens_the_stream_without_a_header_and_again_for_a_reconnect(admin_client, make_job):
    job = make_job(state=JobState.DONE)
    ticket = _ticket(admin_client, job)

    first = APIClient().get(ticket["url"], HTTP_ACCEPT="text/event-stream")
    first_events = _sse(first.streaming_content)
    again = _stream_with_ticket(job, ticket["ticket"])

    assert first.status_code == 200
    assert [(e["event"], e["data"]["status"]) for e in first_events] == [("status", "DONE"), ("end", "DONE")]
    assert again.status_code == 200
    assert [e["event"] for e in _sse(again.streaming_content)] == ["status", "end"]


def test_ticket_for_another_tenants_job_is_404(admin_client, make_job, other_tenant):
    response = admin_client.post(f"/api/v1/jobs/{make_job(tenant=other_tenant).id}/events/ticket/")

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_ticket_is_refused_to_students_and_parents(client_for, make_user, tenant, make_job, role):
    response = client_for(make_user(tenant, role)).post(f"/api/v1/jobs/{make_job().id}/events/ticket/")

    assert response.status_code == 403


def test_ticket_is_refused_to_anonymous(make_job):
    response = APIClient().post(f"/api/v1/jobs/{make_job().id}/events/ticket/")

    assert response.status_code == 401


def test_stream_with_a_ticket_of_another_job_is_403_and_opens_no_stream(admin_client, make_job):
    job, other = make_job(), make_job()
    ticket = _ticket(admin_client, other)["ticket"]

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "EVENTS_TICKET_INVALID", "message": "작업 알림 티켓이 올바르지 않습니다. "
                               "새 티켓을 받아 주세요.", "details": {}}
    assert events.stream_slots.in_use == 0


@pytest.mark.parametrize("ticket", ["", "garbage", "x" * 300])
def test_stream_with_a_malformed_ticket_is_403(make_job, ticket):
    response = _stream_with_ticket(make_job(), ticket)

    assert response.status_code == 403
    assert response.json()["code"] == "EVENTS_TICKET_INVALID"


def test_stream_with_a_tampered_ticket_is_403_even_with_a_valid_jwt(admin_client, admin_user, make_job):
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]

    response = _jwt_client(admin_user).get(f"/api/v1/jobs/{job.id}/events/", {"ticket": ticket[:-2] + "xx"})

    assert response.status_code == 403
    assert response.json()["code"] == "EVENTS_TICKET_INVALID"


def test_stream_with_an_expired_ticket_is_403_expired(admin_client, make_job, settings):
    settings.JOBS_EVENTS_TICKET_SECONDS = 0
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 403
    assert response.json()["code"] == "EVENTS_TICKET_EXPIRED"
    assert events.stream_slots.in_use == 0


def test_stream_with_a_ticket_of_a_user_deactivated_since_is_401(admin_client, admin_user, make_job):
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]
    User.objects.filter(id=admin_user.id).update(is_active=False)

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_stream_with_a_ticket_when_the_tenant_was_deactivated_since_is_403(admin_client, tenant, make_job):
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]
    Tenant.objects.filter(id=tenant.id).update(is_active=False)

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_stream_with_a_ticket_of_a_user_demoted_to_student_since_is_403(admin_client, admin_user, make_job):
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]
    User.objects.filter(id=admin_user.id).update(role=Role.STUDENT)

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_stream_with_a_ticket_of_a_user_moved_to_another_tenant_is_404(admin_client, admin_user, make_job,
                                                                        other_tenant):
    job = make_job()
    ticket = _ticket(admin_client, job)["ticket"]
    User.objects.filter(id=admin_user.id).update(tenant=other_tenant)

    response = _stream_with_ticket(job, ticket)

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


def test_streams_beyond_the_bound_are_503_with_retry_after(admin_client, make_job, settings):
    settings.JOBS_SSE_MAX_STREAMS_PER_PROCESS = 1
    job = make_job(state=JobState.RUNNING)
    assert events.stream_slots.acquire(1)  # another stream is open in this process

    refused = admin_client.get(f"/api/v1/jobs/{job.id}/events/", HTTP_ACCEPT="text/event-stream")

    assert refused.status_code == 503
    assert refused["Retry-After"] == "10"
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "EVENTS_BUSY"
    assert refused.json()["details"] == {"retry_after": 10}
    assert events.stream_slots.in_use == 1
