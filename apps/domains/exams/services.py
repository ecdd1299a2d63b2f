"""Exam writes (ARCHITECTURE §4 AI, exams): create, update, open, delete; the tenant's OMR settings."""

import logging
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import ConflictError
from apps.core.models import Tenant, User
from apps.domains.exams import rules
from apps.domains.exams.models import Exam, ExamSettings, ExamState
from apps.domains.exams.results import exam_regrade
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.selectors import (
    LectureNotFoundError,
    SessionNotFoundError,
    SessionNotInLectureError,
    lecture_ensure_not_archived,
)

logger = logging.getLogger(__name__)

EXAM_FIELDS = ("lecture_id", "session_id", "title", "date", "question_count", "choice_count", "answer_key", "points")
# What the printed sheets and accepted answers depend on: fixed once the exam is OPEN.
STRUCTURE_FIELDS = ("lecture_id", "question_count", "choice_count")


class ExamNotDraftError(ConflictError):
    default_code = "EXAM_NOT_DRAFT"
    default_message = "작성 중인 시험에서만 할 수 있습니다."


class ExamStructureLockedError(ConflictError):
    default_code = "EXAM_STRUCTURE_LOCKED"
    default_message = "답안 접수를 시작한 시험은 강의, 문항 수, 보기 수를 바꿀 수 없습니다."


class AnswerKeyIncompleteError(ConflictError):
    default_code = "ANSWER_KEY_INCOMPLETE"
    default_message = "모든 문항의 정답을 입력해야 답안 접수를 시작할 수 있습니다."


def _lecture_of(tenant: Tenant, lecture_id: int) -> Lecture:
    lecture = Lecture.objects.for_tenant(tenant).filter(id=lecture_id).first()
    if lecture is None:
        raise LectureNotFoundError(details={"lecture_id": lecture_id})
    lecture_ensure_not_archived(lecture=lecture)
    return lecture


def _session_of(tenant: Tenant, lecture: Lecture, session_id: int | None) -> Session | None:
    if session_id is None:
        return None
    session = Session.objects.for_tenant(tenant).filter(id=session_id).first()
    if session is None:
        raise SessionNotFoundError(details={"session_id": session_id})
    if session.lecture_id != lecture.id:
        raise SessionNotInLectureError(details={"session_id": session_id, "lecture_id": lecture.id})
    return session


def _check_key_and_points(exam: Exam) -> None:
    exam.answer_key = rules.answer_key_normalise(exam.answer_key, question_count=exam.question_count,
                                                 choice_count=exam.choice_count)
    exam.points = rules.points_normalise(exam.points, question_count=exam.question_count)


@transaction.atomic
def exam_create(*, tenant: Tenant, lecture_id: int, title: str, date: date, question_count: int,
                choice_count: int = 5, session_id: int | None = None, answer_key: list | None = None,
                points: Any = 1, created_by: User | None = None) -> Exam:
    lecture = _lecture_of(tenant, lecture_id)
    exam = Exam(tenant=tenant, lecture=lecture, session=_session_of(tenant, lecture, session_id), title=title.strip(),
                date=date, question_count=question_count, choice_count=choice_count, answer_key=answer_key or [],
                points=points, created_by=created_by)
    _check_key_and_points(exam)
    exam.save()
    logger.info("exam_created", extra={"tenant_id": tenant.id, "exam_id": exam.id})
    return exam


def _locked(exam: Exam) -> Exam:
    return Exam.objects.select_for_update(of=("self",)).select_related("lecture", "session").get(id=exam.id)


@transaction.atomic
def exam_update(*, exam: Exam, data: dict[str, Any]) -> Exam:
    """Change what was sent. Once OPEN, the lecture and the sheet's shape are fixed; a changed key or points then
    bumps `revision`, the signal to regrade every sheet (and, after PUBLISHED, to show results as revised)."""
    unknown = set(data) - set(EXAM_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    exam = _locked(exam)
    if exam.state != ExamState.DRAFT:
        changed = [name for name in STRUCTURE_FIELDS if name in data and data[name] != getattr(exam, name)]
        if changed:
            raise ExamStructureLockedError(details={"exam_id": exam.id, "fields": changed})
    lecture_ensure_not_archived(lecture=exam.lecture)
    if "lecture_id" in data and data["lecture_id"] != exam.lecture_id:
        exam.lecture = _lecture_of(exam.tenant, data["lecture_id"])
        if "session_id" not in data:
            # A session belongs to one lecture: moving the exam leaves it without one unless a new one is sent.
            exam.session = None
    if "session_id" in data:
        exam.session = _session_of(exam.tenant, exam.lecture, data["session_id"])
    before = (exam.answer_key, exam.points)
    for name in ("title", "date", "question_count", "choice_count", "answer_key", "points"):
        if name in data:
            setattr(exam, name, data[name].strip() if name == "title" else data[name])
    _check_key_and_points(exam)
    if exam.state != ExamState.DRAFT:
        if not rules.answer_key_is_complete(exam.answer_key, question_count=exam.question_count):
            raise AnswerKeyIncompleteError(details={"exam_id": exam.id})
        if (exam.answer_key, exam.points) != before:
            exam.revision += 1
    exam.save()
    if exam.state != ExamState.DRAFT and (exam.answer_key, exam.points) != before:
        # Every sheet rescored in the same transaction: no reader sees the new key with old scores.
        exam_regrade(exam=exam)
    return exam


@transaction.atomic
def exam_open(*, exam: Exam) -> Exam:
    """DRAFT → OPEN: scans are accepted from now on. Needs a complete key. Opening an OPEN exam changes nothing."""
    exam = _locked(exam)
    if exam.state == ExamState.OPEN:
        return exam
    if exam.state != ExamState.DRAFT:
        raise ExamNotDraftError(details={"exam_id": exam.id, "state": exam.state})
    lecture_ensure_not_archived(lecture=exam.lecture)
    if not rules.answer_key_is_complete(exam.answer_key, question_count=exam.question_count):
        raise AnswerKeyIncompleteError(details={"exam_id": exam.id, "answer_count": len(exam.answer_key),
                                                "question_count": exam.question_count})
    exam.state = ExamState.OPEN
    exam.opened_at = timezone.now()
    exam.save(update_fields=["state", "opened_at", "updated_at"])
    logger.info("exam_opened", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id})
    return exam


@transaction.atomic
def exam_delete(*, exam: Exam) -> None:
    """Only a DRAFT goes: an OPEN or PUBLISHED exam holds students' answers."""
    exam = _locked(exam)
    if exam.state != ExamState.DRAFT:
        raise ExamNotDraftError(message="작성 중인 시험만 삭제할 수 있습니다.",
                                details={"exam_id": exam.id, "state": exam.state})
    exam.delete()
    logger.info("exam_deleted", extra={"tenant_id": exam.tenant_id, "exam_id": exam.id})


@transaction.atomic
def exam_settings_update(*, tenant: Tenant, identifier_source: str | None = None,
                         student_result_display: str | None = None) -> ExamSettings:
    """Changes the settings given; the others keep their value (their default when never set)."""
    settings_row, _ = ExamSettings.objects.select_for_update().get_or_create(tenant=tenant)
    if identifier_source is not None:
        settings_row.identifier_source = identifier_source
    if student_result_display is not None:
        settings_row.student_result_display = student_result_display
    settings_row.save()
    return settings_row
