import uuid

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from apps.jobs.errors import MAX_FAILURE_DETAILS_BYTES
from apps.jobs.models import Job, JobState

ACTIONS_AND_BODIES = {
    "claim": {},
    "heartbeat": {},
    "progress": {"progress": 30, "stage": "읽는 중"},
    "complete": {"result": {"created": 1}},
    "fail": {"error_code": "BAD_INPUT", "error_message": "입력 오류"},
}


def _url(job_id, action: str) -> str:
    return f"/api/v1/internal/jobs/{job_id}/{action}/"


@pytest.mark.parametrize("action", sorted(ACTIONS_AND_BODIES))
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_missing_or_wrong_token_is_refused_and_nothing_changes(make_job, action, token):
    job = make_job(state=JobState.QUEUED if action == "claim" else JobState.RUNNING)
    before = Job.objects.filter(id=job.id).values().get()
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_X_INTERNAL_TOKEN=token)

    response = client.post(_url(job.id, action), ACTIONS_AND_BODIES[action], format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert Job.objects.filter(id=job.id).values().get() == before


def test_server_without_a_token_refuses_everyone(make_job, internal_client):
    job = make_job()

    with override_settings(INTERNAL_WORKER_TOKEN=""):
        response = internal_client.post(_url(job.id, "claim"), {}, format="json")
        empty = APIClient()
        empty.credentials(HTTP_X_INTERNAL_TOKEN="")
        empty_response = empty.post(_url(job.id, "claim"), {}, format="json")

    assert response.status_code == 403
    assert empty_response.status_code == 403
    assert Job.objects.get(id=job.id).state == JobState.QUEUED


def test_user_session_is_not_enough_for_internal_paths(admin_client, make_job):
    job = make_job()

    response = admin_client.post(_url(job.id, "claim"), {}, format="json")

    assert response.status_code == 403
    assert Job.objects.get(id=job.id).state == JobState.QUEUED


def test_claim_progress_complete_through_the_api(internal_client, make_job, other_tenant):
    # Internal callers are scoped by job id, whatever the tenant.
    job = make_job(tenant=other_tenant, payload={"file": "x.xlsx"})

    claimed = internal_client.post(_url(job.id, "claim"), {"worker_id": "w-1"}, format="json")
    progressed = internal_client.post(_url(job.id, "progress"), {"progress": 55, "stage": "등록 중", "attempt": 1},
                                      format="json")
    completed = internal_client.post(_url(job.id, "complete"), {"result": {"created": 3}, "attempt": 1},
                                     format="json")

    assert claimed.status_code == 200
    assert claimed.json() == {"id": str(job.id), "kind": "test_echo", "tenant_id": other_tenant.id,
                              "state": "RUNNING", "attempts": 1, "max_attempts": 3, "payload": {"file": "x.xlsx"}}
    assert progressed.status_code == 200
    assert completed.status_code == 200
    assert completed.json()["state"] == "DONE"
    job.refresh_from_db()
    assert (job.state, job.result, job.progress) == (JobState.DONE, {"created": 3}, 100)


def test_repeated_complete_with_same_result_is_200_and_with_another_is_409(internal_client, make_job):
    job = make_job(state=JobState.RUNNING)
    internal_client.post(_url(job.id, "complete"), {"result": {"created": 3}}, format="json")

    same = internal_client.post(_url(job.id, "complete"), {"result": {"created": 3}}, format="json")
    other = internal_client.post(_url(job.id, "complete"), {"result": {"created": 4}}, format="json")

    assert same.status_code == 200
    assert other.status_code == 409
    assert other.json()["code"] == "JOB_STATE_CONFLICT"
    assert other.json()["details"] == {"state": "DONE"}
    assert Job.objects.get(id=job.id).result == {"created": 3}


def test_claiming_a_running_job_is_409_with_current_state(internal_client, make_job):
    job = make_job(state=JobState.RUNNING)

    response = internal_client.post(_url(job.id, "claim"), {}, format="json")

    assert response.status_code == 409
    assert response.json()["details"] == {"state": "RUNNING"}
    assert Job.objects.get(id=job.id).attempts == 1


def test_failing_a_done_job_is_409_and_changes_nothing(internal_client, make_job):
    job = make_job(state=JobState.DONE, result={"created": 1})

    response = internal_client.post(_url(job.id, "fail"), ACTIONS_AND_BODIES["fail"], format="json")

    assert response.status_code == 409
    assert response.json()["details"] == {"state": "DONE"}
    job.refresh_from_db()
    assert (job.state, job.error_code) == (JobState.DONE, "")


def test_retryable_fail_requeues(internal_client, make_job):
    job = make_job(state=JobState.RUNNING)

    response = internal_client.post(
        _url(job.id, "fail"),
        {"error_code": "PROVIDER_DOWN", "error_message": "응답 없음", "retryable": True, "attempt": 1}, format="json",
    )

    assert response.status_code == 200
    assert response.json()["state"] == "QUEUED"


def test_a_fail_with_details_stores_them_for_the_status_body(internal_client, make_job, admin_client):
    job = make_job(state=JobState.RUNNING)
    details = {"skipped_count": 2, "skipped": [{"row": 2, "code": "MISSING_NAME", "message": "이름이 비어 있습니다."},
                                               {"row": 3, "code": "INVALID_GRADE", "message": "학년 오류"}]}

    response = internal_client.post(_url(job.id, "fail"), {**ACTIONS_AND_BODIES["fail"], "attempt": 1,
                                                           "details": details}, format="json")

    assert response.status_code == 200
    assert Job.objects.values_list("state", "error_details").get(id=job.id) == (JobState.FAILED, details)
    assert admin_client.get(f"/api/v1/jobs/{job.id}/").json()["error"] == {
        "code": "BAD_INPUT", "message": "입력 오류", "details": details}


def test_fail_details_of_exactly_the_bound_are_stored(internal_client, make_job):
    job = make_job(state=JobState.RUNNING)
    details = {"blob": "x" * (MAX_FAILURE_DETAILS_BYTES - len('{"blob": ""}'))}

    response = internal_client.post(_url(job.id, "fail"), {**ACTIONS_AND_BODIES["fail"], "details": details},
                                    format="json")

    assert response.status_code == 200
    assert Job.objects.values_list("error_details", flat=True).get(id=job.id) == details


@pytest.mark.parametrize("details", [
    '["not", "an", "object"]',
    '"text"',
    "null",
    '{"blob": "' + "x" * (64 * 1024 - len('{"blob": ""}') + 1) + '"}',
    '{"blob": "' + "가" * (22 * 1024) + '"}',
    '{"cell": "a\\u0000b"}',
    '{"a\\u0000": 1}',
    '{"rows": [{"message": "\\ud800"}]}',
])
def test_fail_details_that_are_not_a_bounded_storable_object_are_400_and_save_nothing(internal_client, make_job,
                                                                                    details):
    job = make_job(state=JobState.RUNNING)
    before = Job.objects.filter(id=job.id).values().get()

    body = '{"error_code": "EXCEL_NO_ROWS", "error_message": "없음", "details": ' + details + "}"

    response = internal_client.post(_url(job.id, "fail"), data=body, content_type="application/json")

    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["details"])) == ("VALIDATION_ERROR", ["details"])
    assert Job.objects.filter(id=job.id).values().get() == before


@pytest.mark.parametrize("action", sorted(ACTIONS_AND_BODIES))
def test_unknown_job_is_404(internal_client, db, action):
    response = internal_client.post(_url(uuid.uuid4(), action), ACTIONS_AND_BODIES[action], format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "JOB_NOT_FOUND"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("progress", {"progress": 101}),
        ("progress", {"progress": -1}),
        ("progress", {}),
        ("progress", {"progress": 10, "stage": "가" * 101}),
        ("complete", {"result": ["not", "an", "object"]}),
        ("complete", {"result": "text"}),
        ("complete", {}),
        ("complete", {"result": {"blob": "x" * (256 * 1024)}}),
        ("fail", {"error_code": "bad code", "error_message": "오류"}),
        ("fail", {"error_code": "lower_case", "error_message": "오류"}),
        ("fail", {"error_code": "BAD_INPUT", "error_message": ""}),
        ("fail", {"error_code": "BAD_INPUT", "error_message": "가" * 2001}),
        ("heartbeat", {"attempt": 0}),
        ("heartbeat", {"unexpected": 1}),
        ("claim", {"worker_id": "w", "extra": True}),
    ],
)
def test_invalid_bodies_are_400_and_change_nothing(internal_client, make_job, action, body):
    job = make_job(state=JobState.QUEUED if action == "claim" else JobState.RUNNING)
    before = Job.objects.filter(id=job.id).values().get()

    response = internal_client.post(_url(job.id, action), body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert Job.objects.filter(id=job.id).values().get() == before


def test_internal_path_answers_any_host_while_public_paths_keep_allowed_hosts(internal_client, admin_client,
                                                                              make_job):
    job = make_job()

    internal = internal_client.post(_url(job.id, "claim"), {}, format="json", HTTP_HOST="10.0.3.7:8000")
    public = admin_client.get(f"/api/v1/jobs/{job.id}/", HTTP_HOST="10.0.3.7:8000")

    assert internal.status_code == 200
    assert public.status_code == 400
    assert Job.objects.get(id=job.id).state == JobState.RUNNING
