"""Review, regrade, results, statistics, publishing and the results export, at the service level (real Postgres)."""

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from apps.domains.exams import results
from apps.domains.exams.models import Exam, ExamSheet, ExamState, SheetStatus
from apps.domains.exams.results_export import exam_results_export, exam_results_export_present
from apps.domains.exams.results_selectors import exam_results, exam_stats
from apps.domains.exams.services import exam_update
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
    MessagingProfile,
)
from apps.domains.messaging.services import credit_grant, messaging_profile_ensure
from apps.integrations.storage import get_storage
from apps.jobs.models import Job, JobState

from . import results_support
from .results_support import ANSWERS

# The shared fixtures, by name (pytest finds them as module attributes).
lecture, students, exam, make_sheet, graded = (results_support.lecture, results_support.students,
                                               results_support.exam, results_support.make_sheet,
                                               results_support.graded)

pytestmark = pytest.mark.django_db


def fresh(exam) -> Exam:
    return Exam.objects.get(id=exam.id)


# ---------------------------------------------------------------------------------------------------- review

def test_an_uncertain_sheet_becomes_graded_once_the_teacher_gives_every_answer(exam, students, make_sheet,
                                                                                admin_user):
    sheet = make_sheet(students["가윤"], [[1], [2], [3], [4], [5]], status=SheetStatus.REVIEW,
                       states=["ONE", "ONE", "UNCERTAIN", "ONE", "LOW"], reasons=["AMBIGUOUS_MARK", "LOW_ALIGNMENT"])

    # Setting only the (same) student leaves the uncertain mark unresolved
    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": students["가윤"].id},
                                      by=admin_user)
    assert (sheet.status, sheet.review_reasons) == (SheetStatus.REVIEW, ["AMBIGUOUS_MARK"])
    assert (sheet.score, sheet.correct_count) == (Decimal("8"), 4)  # the uncertain question earns nothing yet

    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id,
                                      data={"answers": [[1], [2], [3], [4], [5]]}, by=admin_user)

    assert (sheet.status, sheet.review_reasons, sheet.score, sheet.correct_count) == (
        SheetStatus.GRADED, [], Decimal("10"), 5)
    assert sheet.states == ["ONE"] * 5
    assert (sheet.reviewed_by_id, sheet.graded_revision) == (admin_user.id, exam.revision)
    assert sheet.reviewed_at is not None


def test_an_unknown_student_is_settled_by_setting_one(exam, students, make_sheet):
    sheet = make_sheet(None, ANSWERS["나래"], status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": students["나래"].id})

    assert (sheet.status, sheet.student_id, sheet.score) == (SheetStatus.GRADED, students["나래"].id, Decimal(8))
    # and unsetting it sends the sheet back
    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": None})
    assert (sheet.status, sheet.review_reasons) == (SheetStatus.REVIEW, ["NO_STUDENT"])


def test_an_unreadable_page_is_graded_when_the_teacher_enters_student_and_answers(exam, students, make_sheet):
    sheet = make_sheet(None, [], status=SheetStatus.UNREADABLE, states=[], reasons=["MARKERS_NOT_FOUND"])

    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": students["라희"].id})
    assert (sheet.status, sheet.review_reasons, sheet.score) == (SheetStatus.REVIEW, ["AMBIGUOUS_MARK"], None)

    sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"answers": ANSWERS["라희"]})
    assert (sheet.status, sheet.score) == (SheetStatus.GRADED, Decimal(4))


def test_a_second_sheet_for_a_counted_student_stays_in_review_as_a_duplicate(exam, students, make_sheet):
    first = make_sheet(students["가윤"], ANSWERS["가윤"])
    second = make_sheet(None, ANSWERS["라희"], status=SheetStatus.REVIEW, reasons=["ID_DIGIT_BLANK"])

    second = results.exam_sheet_review(exam=exam, sheet_id=second.id, data={"student_id": students["가윤"].id})

    assert (second.status, second.review_reasons) == (SheetStatus.REVIEW, ["DUPLICATE_STUDENT"])
    assert [row["sheet_id"] for row in exam_results(exam=exam)["results"]] == [first.id]
    # Moving it to the right student settles it
    second = results.exam_sheet_review(exam=exam, sheet_id=second.id, data={"student_id": students["라희"].id})
    assert second.status == SheetStatus.GRADED


def test_flag_duplicates_keeps_the_first_recorded_sheet_counted(exam, students, make_sheet):
    first = make_sheet(students["가윤"], ANSWERS["가윤"])
    again = make_sheet(students["가윤"], ANSWERS["라희"])

    assert results.exam_sheets_flag_duplicates(exam=exam) == 1

    again.refresh_from_db()
    assert (again.status, again.review_reasons) == (SheetStatus.REVIEW, ["DUPLICATE_STUDENT"])
    assert ExamSheet.objects.get(id=first.id).status == SheetStatus.GRADED


@pytest.mark.parametrize(("data", "code"), [
    ({"answers": [[1]] * 4}, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[1], [2], [3], [4], [6]]}, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[1], [2], [3], [4], [0]]}, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[1], [2], [3], [4], [True]]}, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[1], [2], [3], [4], [2, 2]]}, "SHEET_ANSWERS_INVALID"),
    ({"answers": [[1], [2], [3], [4], 5]}, "SHEET_ANSWERS_INVALID"),
    ({"answers": "12345"}, "SHEET_ANSWERS_INVALID"),
])
def test_review_refuses_bad_answers_and_writes_nothing(exam, students, make_sheet, data, code):
    sheet = make_sheet(None, ANSWERS["가윤"], status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    with pytest.raises(results.SheetAnswersInvalidError) as error:
        results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data=data)

    assert error.value.code == code
    assert ExamSheet.objects.get(id=sheet.id).answers == ANSWERS["가윤"]


def test_review_refuses_a_student_not_enrolled_or_of_another_academy(exam, students, make_sheet, tenant,
                                                                      other_tenant, make_student):
    sheet = make_sheet(None, ANSWERS["가윤"], status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    with pytest.raises(results.StudentNotEnrolledError):
        results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": make_student(tenant).id})
    with pytest.raises(results.StudentNotFoundError):
        results.exam_sheet_review(exam=exam, sheet_id=sheet.id, data={"student_id": make_student(other_tenant).id})
    assert ExamSheet.objects.get(id=sheet.id).student_id is None


# ---------------------------------------------------------------------------------------------------- regrade

def test_a_key_change_regrades_every_sheet_and_keeps_reviewed_answers(exam, students, graded, make_sheet):
    reviewed = make_sheet(None, [[1], [2], [3], [4], [5]], status=SheetStatus.REVIEW,
                          states=["ONE", "ONE", "ONE", "ONE", "UNCERTAIN"], reasons=["AMBIGUOUS_MARK"])
    reviewed = results.exam_sheet_review(exam=exam, sheet_id=reviewed.id,
                                         data={"answers": [[1], [2], [3], [4], [2]], "student_id": None})
    results.exam_sheet_review(exam=exam, sheet_id=reviewed.id, data={"student_id": students["가윤"].id})

    exam = exam_update(exam=exam, data={"answer_key": [1, 2, 3, 4, 1]})

    assert exam.revision == 1
    sheets = {s.id: s for s in ExamSheet.objects.filter(exam=exam)}
    assert {name: sheets[graded[name].id].score for name in ANSWERS} == {
        "가윤": Decimal(8), "나래": Decimal(10), "다온": Decimal(6), "라희": Decimal(4)}
    assert sheets[reviewed.id].answers == [[1], [2], [3], [4], [2]]
    assert (sheets[reviewed.id].score, sheets[reviewed.id].correct_count) == (Decimal(8), 4)
    assert {s.graded_revision for s in sheets.values()} == {1}


def test_points_change_regrades_and_a_void_question_counts_for_everyone(exam, graded):
    exam = exam_update(exam=exam, data={"answer_key": [1, 2, 3, 4, None], "points": ["1", "1", "1", "1", "3.3"]})

    assert {name: ExamSheet.objects.get(id=graded[name].id).score for name in ANSWERS} == {
        "가윤": Decimal("7.30"), "나래": Decimal("7.30"), "다온": Decimal("6.30"), "라희": Decimal("5.30")}


def test_regrade_takes_a_constant_number_of_queries(exam, students, make_sheet):
    def queries(count):
        for _ in range(count):
            make_sheet(students["가윤"], ANSWERS["나래"])
        current = fresh(exam)
        with CaptureQueriesContext(connection) as captured:
            results.exam_regrade(exam=current)
        return len(captured)

    assert queries(2) == queries(40) == 2


def test_a_draft_key_change_does_not_bump_the_revision(lecture):
    from .results_support import open_exam

    draft = open_exam(lecture, state=ExamState.DRAFT)
    assert exam_update(exam=draft, data={"answer_key": [5, 4, 3, 2, 1]}).revision == 0


# ---------------------------------------------------------------------------------------------------- results

def test_results_rank_ties_alike_and_list_the_absent(exam, students, graded, make_student, make_enrollment, lecture,
                                                     tenant):
    absent = make_student(tenant, name="마루")
    make_enrollment(lecture, absent)

    data = exam_results(exam=exam)

    rows = [(r["student_name"], r["score"], r["correct_count"], r["rank"], r["percentile"]) for r in data["results"]]
    assert rows == [("가윤", 10.0, 5, 1, 87.5), ("나래", 8.0, 4, 2, 50.0), ("다온", 8.0, 4, 2, 50.0),
                    ("라희", 4.0, 2, 4, 12.5)]
    assert data["missing"] == [{"student_id": absent.id, "student_name": "마루"}]
    assert (data["max_score"], data["revised"], data["review_count"]) == (10.0, False, 0)
    question4 = data["results"][2]["answers"][3]
    assert question4 == {"number": 4, "marked": [1, 4], "key": [4], "correct": False, "points": 0.0}


def test_stats_on_a_known_set(exam, graded):
    stats = exam_stats(exam=exam)

    assert (stats["count"], stats["average"], stats["median"], stats["std_dev"], stats["max"], stats["min"]) == (
        4, 7.5, 8.0, 2.18, 10.0, 4.0)
    q = {row["number"]: row for row in stats["questions"]}
    assert (q[1]["correct_rate"], q[3]["correct_rate"], q[4]["correct_rate"]) == (1.0, 0.75, 0.5)
    assert ([c["count"] for c in q[4]["choices"]], q[4]["blank"], q[4]["multiple"]) == ([0, 0, 0, 2, 0], 1, 1)
    assert ([c["count"] for c in q[5]["choices"]], q[5]["blank"], q[5]["multiple"]) == ([1, 0, 0, 0, 2], 1, 0)


def test_stats_of_an_exam_without_sheets_are_empty(exam):
    stats = exam_stats(exam=exam)

    assert (stats["count"], stats["average"], stats["std_dev"]) == (0, None, None)
    assert stats["questions"][0]["correct_rate"] is None


def test_results_and_stats_take_a_constant_number_of_queries(exam, students, make_sheet, make_student,
                                                             make_enrollment, lecture, tenant):
    def queries(count):
        for i in range(count):
            student = make_student(tenant, name=f"학생{i}")
            make_enrollment(lecture, student)
            make_sheet(student, ANSWERS["나래"])
        with CaptureQueriesContext(connection) as captured:
            exam_results(exam=fresh(exam))
            exam_stats(exam=fresh(exam))
        return len(captured)

    assert queries(2) == queries(30)


# ---------------------------------------------------------------------------------------------------- publish

def ready_to_send(tenant, *, credit=Decimal("100000"), enabled=True):
    profile = messaging_profile_ensure(tenant=tenant)
    MessagingProfile.objects.filter(id=profile.id).update(sender_number="025550100",
                                                         sender_verified_at=timezone.now())
    if credit is not None:
        credit_grant(tenant=tenant, amount=credit)
    template = MessageTemplate.objects.create(tenant=tenant, name="성적 발표",
                                              body="[알파학원] #{시험명} 점수는 #{점수}점입니다.")
    AutoNoticeSetting.objects.create(tenant=tenant, kind="exam_published", enabled=enabled, template=template,
                                     audience="parent")


def test_publish_refuses_sheets_in_review_unless_forced(exam, graded, make_sheet):
    make_sheet(None, ANSWERS["가윤"], status=SheetStatus.REVIEW, reasons=["UNKNOWN_STUDENT"])

    with pytest.raises(results.SheetsInReviewError) as error:
        results.exam_publish(exam=exam)
    assert error.value.details["review_count"] == 1
    assert fresh(exam).state == ExamState.OPEN

    outcome = results.exam_publish(exam=exam, force=True)

    exam = fresh(exam)
    assert (exam.state, exam.published_revision, outcome.notified, outcome.refusal) == (
        ExamState.PUBLISHED, 0, None, None)
    assert exam.published_at is not None


def test_a_draft_cannot_be_published(lecture):
    from .results_support import open_exam

    with pytest.raises(results.ExamNotOpenError):
        results.exam_publish(exam=open_exam(lecture, state=ExamState.DRAFT))


def test_publish_notifies_parents_once_per_revision_and_again_only_when_asked(exam, graded, tenant, admin_user):
    ready_to_send(tenant)

    outcome = results.exam_publish(exam=exam, notify_parents=True, by=admin_user)

    send = MessageSend.objects.get()
    assert (outcome.notified, outcome.refusal, send.trigger_key) == (send.id, None, f"exam_published:{exam.id}:r0")
    texts = dict(MessageRecipient.objects.values_list("student_id", "text"))
    assert "3월 단원평가 점수는 10점입니다" in texts[graded["가윤"].student_id]
    assert "점수는 4점입니다" in texts[graded["라희"].student_id]
    # Publishing again at the same revision sends nothing new
    assert results.exam_publish(exam=exam, notify_parents=True).notified == send.id
    assert MessageSend.objects.count() == 1

    exam = exam_update(exam=fresh(exam), data={"points": "2.5"})
    assert exam_results(exam=exam)["revised"] is True
    results.exam_publish(exam=exam)  # staff did not ask: no text
    assert MessageSend.objects.count() == 1
    assert exam_results(exam=fresh(exam))["revised"] is False
    exam = exam_update(exam=fresh(exam), data={"points": "3"})
    outcome = results.exam_publish(exam=exam, notify_parents=True)
    assert MessageSend.objects.count() == 2
    assert MessageSend.objects.get(id=outcome.notified).trigger_key == f"exam_published:{exam.id}:r2"


def test_a_refused_send_is_reported_and_the_results_stay_published(exam, graded, tenant):
    ready_to_send(tenant, credit=None)

    outcome = results.exam_publish(exam=exam, notify_parents=True)

    assert (outcome.notified, outcome.refusal["code"]) == (None, "INSUFFICIENT_CREDIT")
    assert fresh(exam).state == ExamState.PUBLISHED


def test_a_switched_off_notice_is_reported(exam, graded, tenant):
    ready_to_send(tenant, enabled=False)

    outcome = results.exam_publish(exam=exam, notify_parents=True)

    assert (outcome.notified, outcome.refusal["code"]) == (None, "NOTICE_DISABLED")
    assert MessageSend.objects.count() == 0


def test_a_review_after_publishing_marks_the_results_revised(exam, graded):
    results.exam_publish(exam=exam)

    results.exam_sheet_review(exam=fresh(exam), sheet_id=graded["라희"].id, data={"answers": ANSWERS["가윤"]})

    exam = fresh(exam)
    assert (exam.revision, exam_results(exam=exam)["revised"]) == (1, True)
    assert ExamSheet.objects.get(id=graded["라희"].id).graded_revision == 1


# ---------------------------------------------------------------------------------------------------- export

class Ctx:
    attempt = 1
    stop_requested = False

    def __init__(self):
        self.reports = []

    def progress(self, percent, stage=""):
        self.reports.append((percent, stage))

    def heartbeat(self):
        pass


def test_the_export_job_writes_a_real_xlsx(exam, graded, tenant, local_storage, students):
    ExamSheet.objects.filter(id=graded["라희"].id).update(student=None, status=SheetStatus.REVIEW)
    job = Job.objects.create(tenant=tenant, kind="exam_results_export", state=JobState.RUNNING, attempts=1,
                             payload={"exam_id": exam.id, "filename": "성적.xlsx"})

    result = exam_results_export(job, Ctx())

    assert result == {"key": f"exports/{tenant.id}/{job.id}_성적.xlsx", "filename": "성적.xlsx", "row_count": 3}
    with get_storage().open("storage", result["key"])[0] as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    rows = list(workbook["성적"].iter_rows(values_only=True))
    assert rows[0][:7] == ("순위", "학생", "점수", "만점", "맞은 문항 수", "백분위", "1번")
    assert rows[1][6:] == ("1", "2", "3", "4", "5")
    assert [row[:6] for row in rows[2:]] == [(1, "가윤", 10, 10, 5, 83.33), (2, "나래", 8, 10, 4, 33.33),
                                             (2, "다온", 8, 10, 4, 33.33)]
    assert rows[4][6:] == ("O 1", "O 2", "O 3", "X 1,4", "O 5")
    assert list(workbook["미응시"].iter_rows(values_only=True)) == [("학생",), ("라희",)]
    job.state, job.result = JobState.DONE, result
    shown = exam_results_export_present(job)
    assert shown["download_url"] and shown["expires_in"] > 0


def test_the_export_of_a_vanished_exam_fails_for_good(tenant):
    from apps.jobs.errors import JobFailure

    job = Job.objects.create(tenant=tenant, kind="exam_results_export", state=JobState.RUNNING, attempts=1,
                             payload={"exam_id": 999999, "filename": "성적.xlsx"})

    with pytest.raises(JobFailure) as error:
        exam_results_export(job, Ctx())
    assert error.value.code == "EXAM_NOT_FOUND"
