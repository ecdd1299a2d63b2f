"""Review and results API: staff only, tenant-scoped (another academy's exam, sheet or student is a 404), refusals with
their code, and a constant number of queries however many sheets."""

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.core.models import Role
from apps.domains.exams.models import ExamScan, ExamSheet, ExamState, SheetStatus
from apps.integrations.storage import get_storage
from apps.jobs.models import Job

from . import results_support
from .results_support import ANSWERS, SheetMaker, open_exam

lecture, students, exam, make_sheet, graded = (results_support.lecture, results_support.students,
                                               results_support.exam, results_support.make_sheet,
                                               results_support.graded)


def url(exam, tail=""):
    return f"/api/v1/exams/{exam.id}/{tail}"


@pytest.fixture
def foreign(other_tenant, make_lecture, make_student, make_enrollment):
    """Another academy's exam with one sheet."""
    other_lecture = make_lecture(other_tenant, title="남의 강의")
    student = make_student(other_tenant, name="남학생")
    make_enrollment(other_lecture, student)
    other_exam = open_exam(other_lecture)
    sheet = SheetMaker(other_exam)(student, ANSWERS["가윤"])
    return other_exam, sheet, student


# ---------------------------------------------------------------------------------------------------- review

def test_review_list_filters_by_status_and_signs_the_aligned_image(admin_client, exam, graded, make_sheet,
                                                                   local_storage):
    get_storage().put("ai", "omr/aligned/1.png", b"png", content_type="image/png")
    review = make_sheet(None, ANSWERS["가윤"], status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"],
                        aligned_image_key="omr/aligned/1.png")

    response = admin_client.get(url(exam, "sheets/"), {"status": "REVIEW"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["status"], row["reasons"], row["student"], row["scan_id"], row["page_number"]) == (
        review.id, "REVIEW", ["UNKNOWN_STUDENT"], None, review.scan_id, review.page_number)
    assert (row["answers"], row["alignment_quality"], row["fills"]) == (ANSWERS["가윤"], 0.97, review.fills)
    image = urlsplit(row["image_url"])
    assert Client().get(f"{image.path}?{image.query}").status_code == 200
    everything = admin_client.get(url(exam, "sheets/")).json()
    assert everything["count"] == 5
    assert {r["student"]["name"] for r in everything["results"] if r["student"]} == set(ANSWERS)


def test_a_purged_scans_image_has_no_url(admin_client, exam, make_sheet, local_storage):
    from django.utils import timezone

    make_sheet(None, status=SheetStatus.REVIEW, aligned_image_key="omr/aligned/2.png")
    ExamScan.objects.filter(exam=exam).update(purged_at=timezone.now())

    assert admin_client.get(url(exam, "sheets/")).json()["results"][0]["image_url"] is None


def test_review_list_refuses_an_unknown_status(admin_client, exam):
    response = admin_client.get(url(exam, "sheets/"), {"status": "LOST"})

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")


def test_patch_settles_a_sheet(admin_client, admin_user, exam, students, make_sheet):
    sheet = make_sheet(None, ANSWERS["가윤"], status=SheetStatus.REVIEW,
                       states=["ONE", "ONE", "UNCERTAIN", "ONE", "ONE"], reasons=["UNKNOWN_STUDENT", "AMBIGUOUS_MARK"])

    response = admin_client.patch(url(exam, f"sheets/{sheet.id}/"), {
        "student_id": students["다온"].id, "answers": [[1], [2], [3], [4], []]}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["reasons"], body["student"], body["score"], body["correct_count"]) == (
        "GRADED", [], {"id": students["다온"].id, "name": "다온"}, 8.0, 4)
    assert ExamSheet.objects.get(id=sheet.id).reviewed_by_id == admin_user.id


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({}, 400, "VALIDATION_ERROR"),
    ({"answers": [[1]] * 3}, 400, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[9]] * 5}, 400, "SHEET_ANSWERS_INVALID"),
    ({"answers": {"1": [1]}}, 400, "SHEET_ANSWERS_INVALID"),
    ({"student_id": "x"}, 400, "VALIDATION_ERROR"),
    ({"student_id": 2**63}, 400, "VALIDATION_ERROR"),
    ({"student_id": 99_999_999}, 404, "STUDENT_NOT_FOUND"),
])
def test_patch_refusals(admin_client, exam, make_sheet, payload, status, code):
    sheet = make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    response = admin_client.patch(url(exam, f"sheets/{sheet.id}/"), payload, format="json")

    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert re.search(r"[가-힣]", response.json()["message"])
    assert ExamSheet.objects.get(id=sheet.id).reviewed_at is None


def test_patch_refuses_a_student_of_another_lecture(admin_client, exam, make_sheet, make_student, tenant):
    sheet = make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    response = admin_client.patch(url(exam, f"sheets/{sheet.id}/"), {"student_id": make_student(tenant).id},
                                  format="json")

    assert (response.status_code, response.json()["code"]) == (400, "STUDENT_NOT_ENROLLED")


def test_a_duplicate_student_stays_in_review(admin_client, exam, graded, make_sheet, students):
    sheet = make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    body = admin_client.patch(url(exam, f"sheets/{sheet.id}/"), {"student_id": students["가윤"].id},
                              format="json").json()

    assert (body["status"], body["reasons"]) == ("REVIEW", ["DUPLICATE_STUDENT"])


# ---------------------------------------------------------------------------------------------------- results

def test_results_and_stats(admin_client, exam, graded):
    data = admin_client.get(url(exam, "results/")).json()

    assert [(r["student_name"], r["rank"], r["score"]) for r in data["results"]] == [
        ("가윤", 1, 10.0), ("나래", 2, 8.0), ("다온", 2, 8.0), ("라희", 4, 4.0)]
    assert (data["missing"], data["revised"], data["max_score"]) == ([], False, 10.0)
    stats = admin_client.get(url(exam, "stats/")).json()
    assert (stats["count"], stats["average"], stats["median"], stats["std_dev"]) == (4, 7.5, 8.0, 2.18)


def test_reads_take_a_constant_number_of_queries(admin_client, exam, make_sheet, make_student, make_enrollment,
                                                 lecture, tenant, django_assert_max_num_queries):
    def queries(count):
        for i in range(count):
            student = make_student(tenant, name=f"학생{i}")
            make_enrollment(lecture, student)
            make_sheet(student, ANSWERS["나래"])
            make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])
        counts = []
        for tail in ("results/", "stats/", "sheets/?status=REVIEW", "sheets/"):
            with CaptureQueriesContext(connection) as captured:
                assert admin_client.get(url(exam, tail)).status_code == 200
            counts.append(len(captured))
        return counts

    assert queries(2) == queries(25)
    with django_assert_max_num_queries(8):
        admin_client.get(url(exam, "results/"))


# ---------------------------------------------------------------------------------------------------- publish

def test_publish_refuses_review_then_forces(admin_client, exam, graded, make_sheet):
    make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    refused = admin_client.post(url(exam, "publish/"), {}, format="json")
    assert (refused.status_code, refused.json()["code"], refused.json()["details"]["review_count"]) == (
        409, "SHEETS_IN_REVIEW", 1)

    response = admin_client.post(url(exam, "publish/"), {"force": True}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["exam"]["state"], body["exam"]["published_revision"], body["notified"], body["refusal"]) == (
        "PUBLISHED", 0, None, None)
    assert body["exam"]["published_at"]


def test_publish_with_notify_reports_a_refusal_and_still_publishes(admin_client, exam, graded, tenant):
    from .test_results import ready_to_send

    ready_to_send(tenant, credit=None)

    body = admin_client.post(url(exam, "publish/"), {"notify_parents": True}, format="json").json()

    assert (body["exam"]["state"], body["notified"], body["refusal"]["code"]) == (
        "PUBLISHED", None, "INSUFFICIENT_CREDIT")


def test_publish_with_notify_sends_once(admin_client, exam, graded, tenant):
    from apps.domains.messaging.models import MessageSend

    from .test_results import ready_to_send

    ready_to_send(tenant, credit=Decimal("100000"))

    first = admin_client.post(url(exam, "publish/"), {"notify_parents": True}, format="json").json()
    again = admin_client.post(url(exam, "publish/"), {"notify_parents": True}, format="json").json()

    assert first["notified"] == again["notified"] == MessageSend.objects.get().id


def test_a_draft_is_not_published(admin_client, lecture):
    draft = open_exam(lecture, state=ExamState.DRAFT)

    response = admin_client.post(url(draft, "publish/"), {}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "EXAM_NOT_OPEN")


def test_export_answers_202_with_a_job(admin_client, exam, graded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(url(exam, "results/export/"))

    assert response.status_code == 202, response.json()
    job = Job.objects.get(id=response.json()["job_id"])
    assert (job.kind, job.payload["exam_id"], job.tenant_id) == ("exam_results_export", exam.id, exam.tenant_id)
    assert job.payload["filename"].endswith(".xlsx")


# ---------------------------------------------------------------------------------------------------- isolation

def test_every_endpoint_answers_404_for_another_academys_exam_or_sheet(admin_client, exam, make_sheet, foreign):
    other_exam, other_sheet, other_student = foreign
    own_sheet = make_sheet(None, status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])
    calls = [
        ("get", url(other_exam, "sheets/"), None, "NOT_FOUND"),
        ("get", url(other_exam, f"sheets/{other_sheet.id}/"), None, "NOT_FOUND"),
        ("patch", url(other_exam, f"sheets/{other_sheet.id}/"), {"answers": ANSWERS["라희"]}, "NOT_FOUND"),
        ("get", url(exam, f"sheets/{other_sheet.id}/"), None, "SHEET_NOT_FOUND"),
        ("patch", url(exam, f"sheets/{other_sheet.id}/"), {"answers": ANSWERS["라희"]}, "SHEET_NOT_FOUND"),
        ("patch", url(exam, f"sheets/{own_sheet.id}/"), {"student_id": other_student.id}, "STUDENT_NOT_FOUND"),
        ("get", url(other_exam, "results/"), None, "NOT_FOUND"),
        ("get", url(other_exam, "stats/"), None, "NOT_FOUND"),
        ("post", url(other_exam, "publish/"), {}, "NOT_FOUND"),
        ("post", url(other_exam, "results/export/"), None, "NOT_FOUND"),
        ("patch", url(exam, f"sheets/{2**64}/"), {"answers": ANSWERS["라희"]}, "SHEET_NOT_FOUND"),
    ]
    for method, path, payload, code in calls:
        response = getattr(admin_client, method)(path, payload, format="json")
        assert (response.status_code, response.json().get("code")) == (404, code), (method, path, response.json())
    assert other_exam.__class__.objects.get(id=other_exam.id).state == ExamState.OPEN
    assert ExamSheet.objects.get(id=other_sheet.id).answers == ANSWERS["가윤"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_students_and_parents_are_refused(client_for, make_user, tenant, exam, role):
    client = client_for(make_user(tenant, role))

    for tail in ("sheets/", "results/", "stats/"):
        assert client.get(url(exam, tail)).status_code == 403
    assert client.post(url(exam, "publish/"), {}, format="json").status_code == 403
    assert client.post(url(exam, "results/export/")).status_code == 403


def test_a_teacher_may_review_and_publish(client_for, make_user, tenant, exam, graded):
    client = client_for(make_user(tenant, Role.TEACHER))

    assert client.get(url(exam, "results/")).status_code == 200
    assert client.post(url(exam, "publish/"), {}, format="json").status_code == 200
