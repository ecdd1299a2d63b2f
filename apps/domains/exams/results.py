"""Exam review, regrading and publishing (ARCHITECTURE §4 AI, exams): the writes after a sheet is graded.

- **Review** (`exam_sheet_review`): a teacher sets a sheet's student and/or its full answers. The sheet is rescored
  and becomes GRADED when it has a student, complete answers and no unresolved reason; a sheet whose student
  already has a counted (GRADED) sheet in the exam stays in REVIEW with `DUPLICATE_STUDENT`: the sheet counted first
  keeps counting until the teacher moves one of them to another student.
- **Regrade** (`exam_regrade`): every sheet of the exam rescored from its `answers` (a teacher's corrections
  included) in one pass, called by `exam_update` whenever `revision` bumps.
- **Publish** (`exam_publish`): OPEN (or PUBLISHED again after a revision) → PUBLISHED; parents are texted each
  score only when staff ask, once per (exam, revision).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.core.models import User
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus
from apps.domains.exams.models import Exam, ExamSheet, ExamState, SheetStatus
from apps.domains.exams.omr import states
from apps.domains.exams.omr.scoring import REASON_AMBIGUOUS_STUDENT, REASON_UNKNOWN_STUDENT, score_answers
from apps.domains.students.models import Student

logger = logging.getLogger(__name__)

REASON_DUPLICATE_STUDENT = "DUPLICATE_STUDENT"
REASON_NO_STUDENT = "NO_STUDENT"
# Reasons about who wrote the sheet: settled once a student is set.
STUDENT_REASONS = {states.REASON_ID_DIGIT_BLANK, states.REASON_ID_DIGIT_MULTIPLE, states.REASON_ID_DIGIT_UNCERTAIN,
                   REASON_UNKNOWN_STUDENT, REASON_AMBIGUOUS_STUDENT, REASON_NO_STUDENT}
UNCERTAIN = states.MarkState.UNCERTAIN.value


class SheetNotFoundError(NotFoundError):
    default_code = "SHEET_NOT_FOUND"
    default_message = "답안지를 찾을 수 없습니다."


class StudentNotFoundError(NotFoundError):
    default_code = "STUDENT_NOT_FOUND"
    default_message = "학생을 찾을 수 없습니다."


class StudentNotEnrolledError(DomainError):
    default_code = "STUDENT_NOT_ENROLLED"
    default_message = "이 시험의 강의를 수강 중인 학생이 아닙니다."


class SheetAnswersInvalidError(DomainError):
    default_code = "SHEET_ANSWERS_INVALID"
    default_message = "답안은 문항 수만큼, 문항마다 보기 번호의 목록(빈 목록은 무응답)이어야 합니다."


class ExamNotOpenError(ConflictError):
    default_code = "EXAM_NOT_OPEN"
    default_message = "답안 접수를 시작한 시험에서만 할 수 있습니다."


class SheetsInReviewError(ConflictError):
    default_code = "SHEETS_IN_REVIEW"
    default_message = "검토가 필요한 답안지가 남아 있습니다. 검토를 마치거나 강제 공개(force)를 선택해 주세요."


# ---------------------------------------------------------------------------------------------------- scoring

def sheet_marks(sheet: ExamSheet, question_count: int) -> dict[int, list[int] | None]:
    """{question: choices marked, or None while the reader was unsure and no teacher has said}."""
    marks: dict[int, list[int] | None] = {}
    for index in range(question_count):
        state = sheet.states[index] if index < len(sheet.states) else None
        answer = sheet.answers[index] if index < len(sheet.answers) else []
        marks[index + 1] = None if state == UNCERTAIN else [int(c) for c in answer or []]
    return marks


def sheet_is_scorable(sheet: ExamSheet, question_count: int) -> bool:
    return isinstance(sheet.answers, list) and len(sheet.answers) == question_count


def _rescore(sheet: ExamSheet, exam: Exam) -> None:
    if not sheet_is_scorable(sheet, exam.question_count):
        sheet.score, sheet.correct_count = None, None
    else:
        score, right, _ = score_answers(sheet_marks(sheet, exam.question_count), exam.answer_key, exam.points)
        sheet.score, sheet.correct_count = score, right
    sheet.graded_revision = exam.revision


def _state_of(choices: list[int]) -> str:
    if not choices:
        return states.MarkState.BLANK.value
    return states.MarkState.ONE.value if len(choices) == 1 else states.MarkState.MULTIPLE.value


# ---------------------------------------------------------------------------------------------------- regrade

def exam_regrade(*, exam: Exam) -> int:
    """Rescore every sheet of the exam for its current key, points and revision: one SELECT, one UPDATE, however
    many sheets. Reviewed answers are what `answers` holds, so they are kept. Returns the number of sheets."""
    sheets = list(ExamSheet.objects.filter(exam_id=exam.id).only(
        "id", "answers", "states", "score", "correct_count", "graded_revision"))
    if not sheets:
        return 0
    now = timezone.now()
    for sheet in sheets:
        _rescore(sheet, exam)
        sheet.updated_at = now
    ExamSheet.objects.bulk_update(sheets, ["score", "correct_count", "graded_revision", "updated_at"])
    logger.info("exam_regraded", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id, "revision": exam.revision,
                                        "sheet_count": len(sheets)})
    return len(sheets)


# ---------------------------------------------------------------------------------------------------- review

def _validated_answers(answers: Any, exam: Exam) -> list[list[int]]:
    if not isinstance(answers, list) or len(answers) != exam.question_count:
        raise SheetAnswersInvalidError(details={"question_count": exam.question_count})
    cleaned = []
    for number, entry in enumerate(answers, start=1):
        if not isinstance(entry, list) or any(
                isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= exam.choice_count for c in entry):
            raise SheetAnswersInvalidError(details={"question": number, "choice_count": exam.choice_count})
        if len(set(entry)) != len(entry):
            raise SheetAnswersInvalidError(details={"question": number})
        cleaned.append(sorted(entry))
    return cleaned


def _enrolled_student(exam: Exam, student_id: int) -> Student:
    student = Student.objects.filter(tenant_id=exam.tenant_id, id=student_id, deleted_at__isnull=True).first()
    if student is None:
        raise StudentNotFoundError(details={"student_id": student_id})
    if not Enrollment.objects.filter(lecture_id=exam.lecture_id, student_id=student_id,
                                     status=EnrollmentStatus.ACTIVE).exists():
        raise StudentNotEnrolledError(details={"student_id": student_id, "lecture_id": exam.lecture_id})
    return student


def _reasons_after_review(sheet: ExamSheet, exam: Exam) -> list[str]:
    """What is still unresolved once a teacher has looked at the sheet. Looking settles image-quality reasons;
    a set student settles the identifier reasons; answers without UNCERTAIN settle the marks."""
    reasons: list[str] = []
    if sheet.student_id is None:
        kept = [r for r in sheet.review_reasons if r in STUDENT_REASONS]
        reasons += kept or [REASON_NO_STUDENT]
    elif ExamSheet.objects.filter(exam_id=exam.id, student_id=sheet.student_id, status=SheetStatus.GRADED
                                  ).exclude(id=sheet.id).exists():
        reasons.append(REASON_DUPLICATE_STUDENT)
    if not sheet_is_scorable(sheet, exam.question_count) or UNCERTAIN in sheet.states:
        reasons.append(states.REASON_AMBIGUOUS_MARK)
    return reasons


@transaction.atomic
def exam_sheet_review(*, exam: Exam, sheet_id: int, data: dict[str, Any], by: User | None = None) -> ExamSheet:
    """Set `student_id` and/or `answers` (the full list) on a sheet of the exam, rescore it and decide its status.

    An UNREADABLE page becomes GRADED too when the teacher enters its student and all its answers. After the results
    were published a change to a counted sheet bumps `revision` (the results show as revised)."""
    exam = Exam.objects.select_for_update(of=("self",)).get(id=exam.id)
    if exam.state == ExamState.DRAFT:
        raise ExamNotOpenError(details={"exam_id": exam.id, "state": exam.state})
    sheet = ExamSheet.objects.select_for_update(of=("self",)).filter(exam_id=exam.id, id=sheet_id).first()
    if sheet is None:
        raise SheetNotFoundError(details={"sheet_id": sheet_id})
    was_counted = sheet.status == SheetStatus.GRADED
    before = (sheet.student_id, sheet.answers, sheet.status)
    if "answers" in data:
        sheet.answers = _validated_answers(data["answers"], exam)
        sheet.states = [_state_of(choices) for choices in sheet.answers]
    if "student_id" in data:
        sheet.student = None if data["student_id"] is None else _enrolled_student(exam, data["student_id"])
    reasons = _reasons_after_review(sheet, exam)
    sheet.review_reasons = reasons
    sheet.status = SheetStatus.REVIEW if reasons else SheetStatus.GRADED
    sheet.reviewed_by = by
    sheet.reviewed_at = timezone.now()
    _rescore(sheet, exam)
    sheet.save()
    changed = before != (sheet.student_id, sheet.answers, sheet.status)
    if exam.state == ExamState.PUBLISHED and changed and (was_counted or sheet.status == SheetStatus.GRADED):
        exam.revision += 1
        exam.save(update_fields=["revision", "updated_at"])
        exam_regrade(exam=exam)
        sheet.refresh_from_db()
    logger.info("exam_sheet_reviewed", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id, "sheet_id": sheet.id,
                                              "status": sheet.status})
    return sheet


def exam_sheets_flag_duplicates(*, exam: Exam) -> int:
    """For the grading job after it records pages: of several GRADED sheets naming one student, the first recorded
    keeps counting and the others go to REVIEW with DUPLICATE_STUDENT. Returns how many were flagged."""
    seen: set[int] = set()
    flagged = []
    for sheet in ExamSheet.objects.filter(exam_id=exam.id, status=SheetStatus.GRADED, student_id__isnull=False
                                          ).order_by("id").only("id", "student_id", "review_reasons", "status"):
        if sheet.student_id in seen:
            sheet.status = SheetStatus.REVIEW
            sheet.review_reasons = [*sheet.review_reasons, REASON_DUPLICATE_STUDENT]
            flagged.append(sheet)
        seen.add(sheet.student_id)
    if flagged:
        ExamSheet.objects.bulk_update(flagged, ["status", "review_reasons"])
    return len(flagged)


# ---------------------------------------------------------------------------------------------------- publish

@dataclass
class PublishOutcome:
    exam: Exam
    notified: int | None = None  # the MessageSend id, None when nothing was sent
    refusal: dict | None = None  # {code, message} when the text could not go


def _score_text(score: Decimal) -> str:
    return format(score.normalize(), "f") if score == score.to_integral_value() else format(score, "f").rstrip("0")


def exam_publish(*, exam: Exam, force: bool = False, notify_parents: bool = False,
                 by: User | None = None) -> PublishOutcome:
    """OPEN → PUBLISHED (publishing again after a revision marks the results current). Sheets still in REVIEW
    refuse unless `force`: they are left out of the results. With `notify_parents` each counted student's parents
    get the exam_published notice, once per (exam, revision); a refused send is reported, not raised."""
    from apps.domains.exams.results_selectors import exam_results

    with transaction.atomic():
        exam = Exam.objects.select_for_update(of=("self",)).get(id=exam.id)
        if exam.state == ExamState.DRAFT:
            raise ExamNotOpenError(details={"exam_id": exam.id, "state": exam.state})
        in_review = ExamSheet.objects.filter(exam_id=exam.id, status=SheetStatus.REVIEW).count()
        if in_review and not force:
            raise SheetsInReviewError(details={"exam_id": exam.id, "review_count": in_review})
        exam.state = ExamState.PUBLISHED
        exam.published_at = timezone.now()
        exam.published_revision = exam.revision
        exam.save(update_fields=["state", "published_at", "published_revision", "updated_at"])
    logger.info("exam_published", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id, "revision": exam.revision,
                                         "forced_past_review": in_review})
    outcome = PublishOutcome(exam=exam)
    if not notify_parents:
        return outcome
    from apps.domains.messaging import notices

    rows = exam_results(exam=exam)["results"]
    values = {row["student_id"]: {"점수": _score_text(row["score_decimal"]), "시험명": exam.title} for row in rows}
    if not values:
        outcome.refusal = {"code": "NO_RESULTS", "message": "채점된 답안지가 없어 알림을 보내지 않았습니다."}
        return outcome
    try:
        send = notices.notify(tenant=exam.tenant, kind="exam_published", student_ids=sorted(values), values=values,
                              key=f"{exam.id}:r{exam.revision}", by=by, lecture_id=exam.lecture_id,
                              session_id=exam.session_id)
    except DomainError as error:
        # Publishing stands: the results are out; only the texts did not go.
        logger.warning("exam_publish_notify_refused", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id,
                                                             "code": error.code})
        outcome.refusal = {"code": error.code, "message": error.message}
        return outcome
    outcome.notified = send.id if send is not None else None
    if send is None:
        outcome.refusal = {"code": "NOTICE_DISABLED", "message": "시험 결과 알림이 꺼져 있어 보내지 않았습니다."}
    return outcome
