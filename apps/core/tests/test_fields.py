"""Integers beyond their column's range, or fractional where a whole number is expected: 400, never a 500."""

import pytest
from rest_framework import serializers

from apps.core.fields import PG_BIGINT_MAX, PG_INT_MAX, IdField, IntegerField, JsonObjectField
from apps.domains.lectures.apis import MAX_SESSION_ORDER
from apps.domains.lectures.models import Session

TOO_BIG_FOR_BIGINT = PG_BIGINT_MAX + 1
TOO_BIG_FOR_INT = PG_INT_MAX + 1


class _Input(serializers.Serializer):
    count = IntegerField()
    some_id = IdField()


@pytest.mark.parametrize("data, field", [
    ({"count": TOO_BIG_FOR_INT, "some_id": 1}, "count"),
    ({"count": -TOO_BIG_FOR_INT - 1, "some_id": 1}, "count"),
    ({"count": 1.5, "some_id": 1}, "count"),
    ({"count": 1, "some_id": TOO_BIG_FOR_BIGINT}, "some_id"),
    ({"count": 1, "some_id": 0}, "some_id"),
    ({"count": 1, "some_id": "2.5"}, "some_id"),
])
def test_bounded_fields_refuse_what_postgres_cannot_store(data, field):
    serializer = _Input(data=data)

    assert not serializer.is_valid()
    assert list(serializer.errors) == [field]


def test_bounded_fields_accept_their_extremes():
    serializer = _Input(data={"count": PG_INT_MAX, "some_id": PG_BIGINT_MAX})

    assert serializer.is_valid(), serializer.errors


def test_explicit_bounds_override_the_column_range():
    assert IntegerField(min_value=1, max_value=12).max_value == 12


@pytest.mark.parametrize("query", [
    f"/api/v1/enrollments/?lecture={TOO_BIG_FOR_BIGINT}",
    "/api/v1/enrollments/?student=1.5",
    "/api/v1/enrollments/?student=0",
    f"/api/v1/students/?lecture={TOO_BIG_FOR_BIGINT}",
    "/api/v1/students/?lecture=1e30",
    f"/api/v1/students/?grade={TOO_BIG_FOR_INT}",
    "/api/v1/lectures/?teacher=-1",
    "/api/v1/videos/?lecture=2.0000001",
])
def test_list_filters_refuse_out_of_range_and_fractional_integers(admin_client, query):
    response = admin_client.get(query)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_list_filter_within_range_still_filters(admin_client, tenant, make_lecture, make_student, make_enrollment):
    lecture, other = make_lecture(tenant), make_lecture(tenant, title="영어")
    make_enrollment(lecture, make_student(tenant))
    make_enrollment(other, make_student(tenant))

    response = admin_client.get(f"/api/v1/enrollments/?lecture={lecture.id}")

    assert response.status_code == 200
    assert [row["lecture_id"] for row in response.json()["results"]] == [lecture.id]


def test_session_order_beyond_the_column_is_refused_and_nothing_changes(admin_client, tenant, make_lecture,
                                                                      make_session):
    session = make_session(make_lecture(tenant), order=1)

    response = admin_client.patch(f"/api/v1/sessions/{session.id}/", {"order": TOO_BIG_FOR_INT}, format="json")

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["order"]
    session.refresh_from_db()
    assert session.order == 1


def test_new_session_with_an_out_of_range_order_is_refused(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)

    response = admin_client.post(f"/api/v1/lectures/{lecture.id}/sessions/", {"order": 2**40}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert not Session.objects.filter(lecture=lecture).exists()


def test_the_next_session_after_the_highest_order_allowed_still_fits(admin_client, tenant, make_lecture):
    # The fuzzer found it: a session at the column's maximum order made the next one (max + 1) a 500.
    lecture = make_lecture(tenant)
    highest = admin_client.post(f"/api/v1/lectures/{lecture.id}/sessions/", {"order": MAX_SESSION_ORDER},
                                format="json")
    too_high = admin_client.post(f"/api/v1/lectures/{lecture.id}/sessions/", {"order": MAX_SESSION_ORDER + 1},
                                 format="json")

    following = admin_client.post(f"/api/v1/lectures/{lecture.id}/sessions/", {}, format="json")

    assert (highest.status_code, too_high.status_code, following.status_code) == (201, 400, 201)
    assert following.json()["order"] == MAX_SESSION_ORDER + 1
    assert Session.objects.filter(lecture=lecture).count() == 2


@pytest.mark.parametrize("method, path, body, field", [
    ("post", "/api/v1/enrollments/", {"lecture_id": TOO_BIG_FOR_BIGINT, "student_id": 1}, "lecture_id"),
    ("post", "/api/v1/lectures/", {"title": "수학", "teacher_id": TOO_BIG_FOR_BIGINT}, "teacher_id"),
    ("post", "/api/v1/videos/", {"title": "1강", "filename": "a.mp4", "size": TOO_BIG_FOR_BIGINT,
                                 "content_type": "video/mp4"}, "size"),
    ("post", "/api/v1/videos/", {"title": "1강", "filename": "a.mp4", "size": 10, "content_type": "video/mp4",
                                 "lecture_id": 0}, "lecture_id"),
])
def test_body_ids_out_of_range_are_validation_errors(admin_client, method, path, body, field):
    response = getattr(admin_client, method)(path, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert field in response.json()["details"]


def test_attendance_enrollment_id_out_of_range_is_a_validation_error(admin_client, tenant, make_lecture,
                                                                     make_session):
    session = make_session(make_lecture(tenant))

    response = admin_client.post(f"/api/v1/sessions/{session.id}/attendance/",
                                 [{"enrollment_id": TOO_BIG_FOR_BIGINT, "status": "PRESENT"}], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_path_id_beyond_bigint_is_a_json_404(admin_client):
    response = admin_client.get("/api/v1/students/99999999999999999999/")

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("result", [
    '{"note": "a\\u0000b"}',
    '{"a\\u0000": 1}',
    '{"nested": [{"text": "\\ud800"}]}',
])
def test_a_job_result_postgres_cannot_store_is_refused_and_the_job_stays_running(client, settings, tenant, result):
    # The fuzzer found it: a NUL or a lone surrogate in a JSON value was a 500 at the INSERT into jsonb.
    from apps.jobs.models import Job, JobState

    job = Job.objects.create(tenant=tenant, kind="excel_import", state=JobState.RUNNING, attempts=1)

    response = client.post(f"/api/v1/internal/jobs/{job.id}/complete/", data='{"result": ' + result + "}",
                           content_type="application/json", HTTP_X_INTERNAL_TOKEN=settings.INTERNAL_WORKER_TOKEN)

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["result"]
    job.refresh_from_db()
    assert (job.state, job.result) == (JobState.RUNNING, None)


def test_json_object_field_takes_only_objects():
    field = JsonObjectField()

    with pytest.raises(serializers.ValidationError):
        field.run_validation([1, 2])
    assert field.run_validation({"rows": [1, "가"]}) == {"rows": [1, "가"]}


def test_every_integer_path_id_past_bigint_is_a_json_404(admin_client, tenant, make_user, make_student, client_for):
    # Django 5.2 turns a lookup past the column's range into "no row"; every <int:...> route relies on it.
    # The /api/v1/me/ API is a student's or parent's (staff get 403): a student asks it.
    student_user = make_user(tenant, role="student")
    make_student(tenant, user=student_user)
    student_client = client_for(student_user)
    schema = admin_client.get("/api/schema/?format=json").json()
    answers = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", [])
                     if p["in"] == "path" and p["schema"].get("type") == "integer"]
            # /me/ refuses staff (403 ME_STUDENTS_AND_PARENTS_ONLY) before any lookup.
            if not names or path.startswith(("/api/v1/internal/", "/api/v1/me/")):
                continue
            url = path
            for name in names:
                url = url.replace("{" + name + "}", "99999999999999999999")
            client = student_client if path.startswith("/api/v1/me/") else admin_client
            response = getattr(client, method)(url, {}, format="json")
            answers[f"{method} {path}"] = (response.status_code, response.json()["code"])

    # A body checked before the lookup may answer 400 first (upload_parts with an empty body).
    expected = {(404, "NOT_FOUND"), (400, "VALIDATION_ERROR")}
    odd = {op: answer for op, answer in answers.items()
           if answer not in expected or (op.startswith("get") and answer[0] != 404)}
    assert len(answers) > 20
    assert odd == {}
