"""Exam API: staff only, tenant-scoped, every refusal with its code and nothing written."""

import datetime
import json
import re
from urllib.parse import quote

import pypdfium2 as pdfium
import pytest

from apps.core.models import Role
from apps.domains.exams.models import Exam, ExamSettings, ExamState
from apps.domains.exams.omr.layout import sheet_layout


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, title="고2 수학 A반")


def body(lecture, **fields):
    return {"lecture_id": lecture.id, "title": "3월 2주차 단원평가", "date": "2026-03-14", "question_count": 4,
            "choice_count": 5, **fields}


def test_create_normalises_key_and_points_and_reports_max_score(admin_client, admin_user, lecture, make_session):
    session = make_session(lecture, title="3회차")

    response = admin_client.post("/api/v1/exams/", body(lecture, session_id=session.id,
                                                        answer_key=[1, [4, 2], None, [5]], points=3.3), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["answer_key"] == [1, [2, 4], None, 5]
    assert (data["points"], data["max_score"]) == (3.3, 13.2)
    assert (data["state"], data["revision"], data["session_id"], data["lecture_title"]) == (
        "DRAFT", 0, session.id, "고2 수학 A반")
    exam = Exam.objects.get(id=data["id"])
    assert (exam.points, exam.created_by_id, exam.tenant_id) == ("3.3", admin_user.id, lecture.tenant_id)


def test_create_defaults_one_point_each_and_no_key(admin_client, lecture):
    data = admin_client.post("/api/v1/exams/", body(lecture), format="json").json()

    assert (data["answer_key"], data["points"], data["max_score"], data["choice_count"]) == ([], 1.0, 4.0, 5)


def test_per_question_points(admin_client, lecture):
    data = admin_client.post("/api/v1/exams/", body(lecture, points=[2, 3.3, 3.3, 4.5]), format="json").json()

    assert (data["points"], data["max_score"]) == ([2.0, 3.3, 3.3, 4.5], 13.1)
    assert Exam.objects.get(id=data["id"]).points == ["2", "3.3", "3.3", "4.5"]


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"answer_key": [1, 2, 3]}, 400, "ANSWER_KEY_LENGTH_MISMATCH"),
    ({"answer_key": [1, 2, 3, 6]}, 400, "ANSWER_KEY_INVALID_CHOICE"),
    ({"answer_key": [1, 2, 3, 5], "choice_count": 4}, 400, "ANSWER_KEY_INVALID_CHOICE"),
    ({"answer_key": [1, 2, 3, "4"]}, 400, "ANSWER_KEY_INVALID_CHOICE"),
    ({"answer_key": "1234"}, 400, "ANSWER_KEY_INVALID_CHOICE"),
    ({"points": [1, 2]}, 400, "POINTS_LENGTH_MISMATCH"),
    ({"points": -2}, 400, "POINTS_NEGATIVE"),
    ({"points": 0.001}, 400, "POINTS_INVALID"),
    ({"points": {"all": 1}}, 400, "POINTS_INVALID"),
    ({"question_count": 0}, 400, "VALIDATION_ERROR"),
    ({"question_count": 101}, 400, "VALIDATION_ERROR"),
    ({"choice_count": 3}, 400, "VALIDATION_ERROR"),
    ({"choice_count": 6}, 400, "VALIDATION_ERROR"),
    ({"title": ""}, 400, "VALIDATION_ERROR"),
    ({"date": None}, 400, "VALIDATION_ERROR"),
    ({"lecture_id": 2**63}, 400, "VALIDATION_ERROR"),
    ({"lecture_id": 99_999_999}, 404, "LECTURE_NOT_FOUND"),
])
def test_create_refusals(admin_client, lecture, fields, status, code):
    response = admin_client.post("/api/v1/exams/", body(lecture, **fields), format="json")

    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert re.search(r"[가-힣]", response.json()["message"])
    assert not Exam.objects.exists()


def test_create_refuses_a_session_of_another_lecture_and_an_archived_lecture(admin_client, tenant, lecture,
                                                                            make_lecture, make_session):
    other_session = make_session(make_lecture(tenant, title="영어"))
    archived = make_lecture(tenant, title="지난 강의", archived_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    wrong_session = admin_client.post("/api/v1/exams/", body(lecture, session_id=other_session.id), format="json")
    gone = admin_client.post("/api/v1/exams/", body(archived), format="json")
    missing_session = admin_client.post("/api/v1/exams/", body(lecture, session_id=99_999_999), format="json")

    assert (wrong_session.status_code, wrong_session.json()["code"]) == (400, "SESSION_NOT_IN_LECTURE")
    assert (gone.status_code, gone.json()["code"]) == (409, "LECTURE_ARCHIVED")
    assert (missing_session.status_code, missing_session.json()["code"]) == (404, "SESSION_NOT_FOUND")
    assert not Exam.objects.exists()


def test_list_filters_and_orders_latest_first(admin_client, tenant, lecture, make_lecture, make_exam):
    other = make_lecture(tenant, title="영어")
    old = make_exam(lecture, title="2월", date=datetime.date(2026, 2, 1))
    new = make_exam(lecture, title="3월", date=datetime.date(2026, 3, 1), state=ExamState.OPEN)
    english = make_exam(other, title="영어 3월", date=datetime.date(2026, 3, 2))

    everything = admin_client.get("/api/v1/exams/").json()["results"]
    by_lecture = admin_client.get(f"/api/v1/exams/?lecture={lecture.id}").json()["results"]
    open_only = admin_client.get("/api/v1/exams/?state=OPEN").json()["results"]
    searched = admin_client.get("/api/v1/exams/?search=영어").json()["results"]

    assert [row["id"] for row in everything] == [english.id, new.id, old.id]
    assert [row["id"] for row in by_lecture] == [new.id, old.id]
    assert [row["id"] for row in open_only] == [new.id]
    assert [row["id"] for row in searched] == [english.id]


def test_patch_in_draft_changes_anything_without_a_revision(admin_client, lecture, make_exam):
    exam = make_exam(lecture, question_count=5)

    response = admin_client.patch(f"/api/v1/exams/{exam.id}/", {
        "title": "수정된 시험", "question_count": 3, "choice_count": 4, "answer_key": [4, 4, None],
        "points": [1, 2, 3]}, format="json")

    assert response.status_code == 200, response.json()
    exam.refresh_from_db()
    assert (exam.title, exam.question_count, exam.choice_count, exam.answer_key, exam.points, exam.revision) == (
        "수정된 시험", 3, 4, [4, 4, None], ["1", "2", "3"], 0)


def test_patch_checks_the_key_against_the_new_shape(admin_client, lecture, make_exam):
    exam = make_exam(lecture, question_count=5)

    shrunk = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"question_count": 4}, format="json")
    fewer_choices = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"choice_count": 4}, format="json")

    assert (shrunk.status_code, shrunk.json()["code"]) == (400, "ANSWER_KEY_LENGTH_MISMATCH")
    assert (fewer_choices.status_code, fewer_choices.json()["code"]) == (400, "ANSWER_KEY_INVALID_CHOICE")
    exam.refresh_from_db()
    assert (exam.question_count, exam.choice_count) == (5, 5)


def test_patch_after_open_locks_the_shape_and_a_key_change_is_a_revision(admin_client, tenant, lecture,
                                                                         make_lecture, make_exam):
    exam = make_exam(lecture, question_count=5, state=ExamState.OPEN)
    other = make_lecture(tenant, title="영어")

    locked = [admin_client.patch(f"/api/v1/exams/{exam.id}/", change, format="json")
              for change in ({"question_count": 4}, {"choice_count": 4}, {"lecture_id": other.id})]
    emptied = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"answer_key": []}, format="json")
    same_shape = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"question_count": 5, "title": "제목만"},
                                    format="json")
    rekeyed = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"answer_key": [2, 2, 3, 4, 5]}, format="json")
    repointed = admin_client.patch(f"/api/v1/exams/{exam.id}/", {"points": 2}, format="json")

    assert [(r.status_code, r.json()["code"]) for r in locked] == [(409, "EXAM_STRUCTURE_LOCKED")] * 3
    assert (emptied.status_code, emptied.json()["code"]) == (409, "ANSWER_KEY_INCOMPLETE")
    assert (same_shape.status_code, same_shape.json()["revision"]) == (200, 0)
    assert (rekeyed.json()["revision"], repointed.json()["revision"]) == (1, 2)
    exam.refresh_from_db()
    assert (exam.lecture_id, exam.answer_key, exam.points, exam.title) == (lecture.id, [2, 2, 3, 4, 5], "2", "제목만")


def test_delete_only_a_draft(admin_client, lecture, make_exam):
    draft = make_exam(lecture)
    opened = make_exam(lecture, state=ExamState.OPEN)

    deleted = admin_client.delete(f"/api/v1/exams/{draft.id}/")
    refused = admin_client.delete(f"/api/v1/exams/{opened.id}/")

    assert deleted.status_code == 204
    assert (refused.status_code, refused.json()["code"]) == (409, "EXAM_NOT_DRAFT")
    assert list(Exam.objects.values_list("id", flat=True)) == [opened.id]


def test_open_needs_a_complete_key_and_is_idempotent(admin_client, lecture, make_exam):
    no_key = make_exam(lecture, answer_key=[])
    all_void = make_exam(lecture, question_count=2, answer_key=[None, None])
    ready = make_exam(lecture, question_count=3, answer_key=[1, None, [2, 3]])
    published = make_exam(lecture, state=ExamState.PUBLISHED)

    refusals = [admin_client.post(f"/api/v1/exams/{exam.id}/open/") for exam in (no_key, all_void)]
    opened = admin_client.post(f"/api/v1/exams/{ready.id}/open/")
    again = admin_client.post(f"/api/v1/exams/{ready.id}/open/")
    too_late = admin_client.post(f"/api/v1/exams/{published.id}/open/")

    assert [(r.status_code, r.json()["code"]) for r in refusals] == [(409, "ANSWER_KEY_INCOMPLETE")] * 2
    assert Exam.objects.filter(id__in=[no_key.id, all_void.id], state=ExamState.DRAFT).count() == 2
    assert (opened.status_code, opened.json()["state"]) == (200, "OPEN")
    assert opened.json()["opened_at"] is not None
    assert (again.status_code, again.json()["opened_at"]) == (200, opened.json()["opened_at"])
    assert (too_late.status_code, too_late.json()["code"]) == (409, "EXAM_NOT_DRAFT")


def test_open_refused_on_an_archived_lecture(admin_client, lecture, make_exam):
    exam = make_exam(lecture)
    lecture.archived_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    lecture.save()

    response = admin_client.post(f"/api/v1/exams/{exam.id}/open/")

    assert (response.status_code, response.json()["code"]) == (409, "LECTURE_ARCHIVED")
    exam.refresh_from_db()
    assert exam.state == ExamState.DRAFT


def test_sheet_pdf_download(admin_client, tenant, lecture, make_session, make_exam):
    exam = make_exam(lecture, title="3월 모의고사/수학", question_count=20, choice_count=4,
                     session=make_session(lecture, title="3회차"))
    ExamSettings.objects.create(tenant=tenant, identifier_source="STUDENT_NUMBER")

    response = admin_client.get(f"/api/v1/exams/{exam.id}/omr-sheet/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    name = "3월 모의고사수학_OMR_답안지.pdf"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"3 _OMR_.pdf\"; filename*=UTF-8''{quote(name, safe='')}")
    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "3월 모의고사/수학" in text
    assert "고2 수학 A반 · 3회차 · 2026-03-14 · 20문항 · 4지선다" in text
    assert "학원 학생 번호 8자리" in text


def test_sheet_pdf_negotiated_by_accept_and_errors_stay_json(admin_client, lecture, make_exam):
    exam = make_exam(lecture)

    pdf = admin_client.get(f"/api/v1/exams/{exam.id}/omr-sheet/", HTTP_ACCEPT="application/pdf")
    missing = admin_client.get("/api/v1/exams/99999999/omr-sheet/", HTTP_ACCEPT="application/pdf")

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"


def test_sheet_layout_is_the_geometry_of_the_pdf(admin_client, lecture, make_exam):
    exam = make_exam(lecture, question_count=37, choice_count=4)

    response = admin_client.get(f"/api/v1/exams/{exam.id}/omr-sheet/layout/")

    assert response.status_code == 200
    assert response.json() == sheet_layout(37, 4, id_digits=8)


def test_settings_staff_read_admin_write(client_for, make_user, tenant, admin_client):
    teacher = client_for(make_user(tenant, Role.TEACHER))

    default = teacher.get("/api/v1/exams/settings/")
    refused = teacher.put("/api/v1/exams/settings/", {"identifier_source": "STUDENT_PHONE"}, format="json")
    changed = admin_client.put("/api/v1/exams/settings/", {"identifier_source": "STUDENT_PHONE"}, format="json")
    invalid = admin_client.put("/api/v1/exams/settings/", {"identifier_source": "EMAIL"}, format="json")
    display = admin_client.put("/api/v1/exams/settings/", {"student_result_display": "RANK"}, format="json")
    bad_display = admin_client.put("/api/v1/exams/settings/", {"student_result_display": "ALL"}, format="json")

    assert (default.status_code, default.json()) == (
        200, {"identifier_source": "PARENT_PHONE", "student_result_display": "PERCENTILE"})
    assert refused.status_code == 403
    assert (changed.status_code, changed.json()) == (
        200, {"identifier_source": "STUDENT_PHONE", "student_result_display": "PERCENTILE"})
    assert (invalid.status_code, invalid.json()["code"]) == (400, "VALIDATION_ERROR")
    # Each setting changes alone: the display choice leaves the identifier source as it was.
    assert (display.status_code, display.json()) == (
        200, {"identifier_source": "STUDENT_PHONE", "student_result_display": "RANK"})
    assert (bad_display.status_code, bad_display.json()["code"]) == (400, "VALIDATION_ERROR")
    assert list(ExamSettings.objects.values_list("tenant_id", "identifier_source", "student_result_display")) == [
        (tenant.id, "STUDENT_PHONE", "RANK")]


EXAM_ENDPOINTS = [
    ("get", "/api/v1/exams/", None),
    ("post", "/api/v1/exams/", "create"),
    ("get", "/api/v1/exams/{id}/", None),
    ("patch", "/api/v1/exams/{id}/", {"title": "x"}),
    ("delete", "/api/v1/exams/{id}/", None),
    ("post", "/api/v1/exams/{id}/open/", None),
    ("get", "/api/v1/exams/{id}/omr-sheet/", None),
    ("get", "/api/v1/exams/{id}/omr-sheet/layout/", None),
    ("get", "/api/v1/exams/settings/", None),
    ("put", "/api/v1/exams/settings/", {"identifier_source": "STUDENT_PHONE"}),
]


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT, None])
@pytest.mark.parametrize(("method", "url", "payload"), EXAM_ENDPOINTS)
def test_only_staff_may_call(client_for, make_user, tenant, lecture, make_exam, role, method, url, payload):
    from rest_framework.test import APIClient

    exam = make_exam(lecture)
    client = client_for(make_user(tenant, role)) if role else APIClient()
    payload = body(lecture) if payload == "create" else payload

    response = getattr(client, method)(url.format(id=exam.id), payload, format="json")

    assert response.status_code == (403 if role else 401)
    assert Exam.objects.get(id=exam.id).title == exam.title and Exam.objects.count() == 1
    assert not ExamSettings.objects.exists()


@pytest.mark.parametrize("role", [Role.OWNER, Role.TEACHER, Role.STAFF])
def test_every_staff_role_manages_exams(client_for, make_user, tenant, lecture, role):
    client = client_for(make_user(tenant, role))

    created = client.post("/api/v1/exams/", body(lecture, answer_key=[1, 2, 3, 4]), format="json")
    opened = client.post(f"/api/v1/exams/{created.json()['id']}/open/")
    sheet = client.get(f"/api/v1/exams/{created.json()['id']}/omr-sheet/layout/")

    assert (created.status_code, opened.status_code, sheet.status_code) == (201, 200, 200)


@pytest.mark.parametrize(("method", "url", "payload"), [case for case in EXAM_ENDPOINTS if "{id}" in case[1]])
def test_another_tenants_exam_answers_404_and_is_untouched(client_for, make_user, other_tenant, lecture, make_exam,
                                                           method, url, payload):
    exam = make_exam(lecture)
    before = Exam.objects.filter(id=exam.id).values().get()
    intruder = client_for(make_user(other_tenant, Role.ADMIN))

    response = intruder.generic(method.upper(), url.format(id=exam.id), content_type="application/json",
                                data="{}" if payload is None else json.dumps(payload))

    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert Exam.objects.filter(id=exam.id).values().get() == before


def test_another_tenants_lecture_session_and_exams_stay_out_of_reach(client_for, make_user, other_tenant, tenant,
                                                                     lecture, make_lecture, make_session, make_exam):
    exam = make_exam(lecture)
    session = make_session(lecture)
    intruder = client_for(make_user(other_tenant, Role.ADMIN))
    own_lecture = make_lecture(other_tenant, title="B 강의")
    own_exam = make_exam(own_lecture)

    foreign_lecture = intruder.post("/api/v1/exams/", body(lecture), format="json")
    foreign_session = intruder.post("/api/v1/exams/", body(own_lecture, session_id=session.id), format="json")
    moved = intruder.patch(f"/api/v1/exams/{own_exam.id}/", {"lecture_id": lecture.id}, format="json")
    listed = intruder.get(f"/api/v1/exams/?lecture={lecture.id}").json()["results"]
    everything = intruder.get("/api/v1/exams/").json()["results"]

    assert (foreign_lecture.status_code, foreign_lecture.json()["code"]) == (404, "LECTURE_NOT_FOUND")
    assert (foreign_session.status_code, foreign_session.json()["code"]) == (404, "SESSION_NOT_FOUND")
    assert (moved.status_code, moved.json()["code"]) == (404, "LECTURE_NOT_FOUND")
    assert listed == [] and [row["id"] for row in everything] == [own_exam.id]
    assert Exam.objects.filter(tenant=other_tenant).count() == 1
    assert Exam.objects.get(id=own_exam.id).lecture_id == own_lecture.id
    assert Exam.objects.filter(tenant=tenant).get().id == exam.id


def test_deleting_the_session_keeps_the_exam(admin_client, lecture, make_session, make_exam):
    session = make_session(lecture)
    exam = make_exam(lecture, session=session)

    response = admin_client.delete(f"/api/v1/sessions/{session.id}/")

    assert response.status_code == 204
    exam.refresh_from_db()
    assert exam.session_id is None


def test_purging_a_lecture_with_exams_is_refused_not_a_500(admin_client, lecture, make_exam):
    exam = make_exam(lecture)
    admin_client.delete(f"/api/v1/lectures/{lecture.id}/")

    response = admin_client.post(f"/api/v1/lectures/{lecture.id}/purge/")

    assert (response.status_code, response.json()["code"]) == (409, "LECTURE_HAS_HISTORY")
    assert Exam.objects.filter(id=exam.id).exists()
