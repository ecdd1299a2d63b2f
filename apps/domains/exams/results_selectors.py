"""Exam review and results reads (ARCHITECTURE §4 AI, exams): sheets to review, results with ranks, statistics.

Scores are recomputed here from each counted sheet's answers and the exam's current key (cheap, and never stale
while a regrade races a grading job). A counted sheet is a GRADED sheet with a student; should two name one
student (a race the review flow otherwise prevents), the first recorded counts. Every read is a constant number
of queries whatever the class size.
"""

from __future__ import annotations

import statistics
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import QuerySet

from apps.core.models import Tenant
from apps.domains.exams.models import Exam, ExamSheet, SheetStatus
from apps.domains.exams.omr.scoring import accepted_choices, score_answers
from apps.domains.exams.results import SheetNotFoundError, sheet_marks
from apps.domains.exams.selectors import exam_roster
from apps.integrations.storage import StorageError, get_storage

AI_BUCKET = "ai"
# The aligned page image is a minor's handwriting: its URL is good for a few minutes only.
ALIGNED_IMAGE_URL_SECONDS = 300
TWO_PLACES = Decimal("0.01")


def exam_sheet_list(*, tenant: Tenant, exam: Exam, status: str | None = None) -> QuerySet[ExamSheet]:
    sheets = ExamSheet.objects.filter(tenant=tenant, exam_id=exam.id).select_related("student", "scan")
    if status:
        sheets = sheets.filter(status=status)
    return sheets.order_by("scan_id", "page_number", "id")


def exam_sheet_get(*, exam: Exam, sheet_id: int) -> ExamSheet:
    sheet = ExamSheet.objects.filter(exam_id=exam.id, id=sheet_id).select_related("student", "scan").first()
    if sheet is None:
        raise SheetNotFoundError(details={"sheet_id": sheet_id})
    return sheet


def sheet_image_url(sheet: ExamSheet) -> str | None:
    """A short-lived signed URL of the aligned page, or None once purged or when there is none. No query."""
    if not sheet.aligned_image_key or sheet.scan.purged_at is not None:
        return None
    try:
        return get_storage().presign_get(AI_BUCKET, sheet.aligned_image_key, expires=ALIGNED_IMAGE_URL_SECONDS)
    except StorageError:
        return None


def _round(value: Decimal | float) -> float:
    return float(Decimal(str(value)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def _key_entry(answer_key: list, number: int) -> list[int] | None:
    accepted = accepted_choices(answer_key, number)
    return None if accepted is None else sorted(accepted)


def _counted_by_exam(exams: list[Exam]) -> dict[int, list[ExamSheet]]:
    """Each exam's counted sheets, for any number of exams in one query."""
    question_counts = {exam.id: exam.question_count for exam in exams}
    counted: dict[int, list[ExamSheet]] = {exam_id: [] for exam_id in question_counts}
    seen: set[tuple[int, int]] = set()
    for sheet in (ExamSheet.objects.filter(exam_id__in=list(question_counts), status=SheetStatus.GRADED,
                                           student__isnull=False)
                  .select_related("student").order_by("id")):
        key = (sheet.exam_id, sheet.student_id)
        if key not in seen and len(sheet.answers) == question_counts[sheet.exam_id]:
            seen.add(key)
            counted[sheet.exam_id].append(sheet)
    return counted


def _counted_sheets(exam: Exam) -> list[ExamSheet]:
    return _counted_by_exam([exam])[exam.id]


def _ranked_rows(exam: Exam, counted: list[ExamSheet]) -> list[dict[str, Any]]:
    """Per counted sheet: score, correct count, answers, competition rank (1, 2, 2, 4) and percentile rank
    (100 × (below + ½ × tied) / N, the student included in tied), best first. No query."""
    rows = []
    for sheet in counted:
        score, right, outcomes = score_answers(sheet_marks(sheet, exam.question_count), exam.answer_key, exam.points)
        rows.append({
            "student_id": sheet.student_id, "student_name": sheet.student.name, "sheet_id": sheet.id,
            "score_decimal": score, "score": float(score), "correct_count": right,
            "answers": [{"number": o.number, "marked": o.marked, "key": _key_entry(exam.answer_key, o.number),
                         "correct": o.correct, "points": float(o.points)} for o in outcomes],
        })
    rows.sort(key=lambda row: (-row["score_decimal"], row["student_name"], row["student_id"]))
    total = len(rows)
    scores = [row["score_decimal"] for row in rows]
    for index, row in enumerate(rows):
        score = row["score_decimal"]
        # Sorted descending: a new score ranks one more than the number above it, a tie takes the rank above.
        row["rank"] = index + 1 if index == 0 or scores[index - 1] != score else rows[index - 1]["rank"]
        below = sum(1 for other in scores if other < score)
        tied = sum(1 for other in scores if other == score)
        row["percentile"] = _round(Decimal(100) * (below + Decimal(tied) / 2) / total)
    return rows


def exam_results(*, exam: Exam) -> dict[str, Any]:
    """Per counted student: score, correct count, competition rank (1, 2, 2, 4), percentile rank
    (100 × (below + ½ × tied) / N, the student included in tied), answers with right/wrong and the key; `missing`
    lists the lecture's active students without a counted sheet. Three queries."""
    rows = _ranked_rows(exam, _counted_sheets(exam))
    counted_ids = {row["student_id"] for row in rows}
    missing = [{"student_id": student.id, "student_name": student.name}
               for student in exam_roster(exam=exam) if student.id not in counted_ids]
    review_count = ExamSheet.objects.filter(exam_id=exam.id, status=SheetStatus.REVIEW).count()
    return {
        "exam_id": exam.id, "title": exam.title, "max_score": float(exam.max_score), "revision": exam.revision,
        "published_revision": exam.published_revision, "revised": exam_is_revised(exam),
        "review_count": review_count, "results": rows, "missing": missing,
    }


def exam_student_results(*, exams: list[Exam], student_id: int) -> dict[int, dict[str, Any] | None]:
    """One student's row of `exam_results` in each exam (same scores, ranks and percentiles, plus `ranked_count`,
    the number of counted students), or None where they have no counted sheet. One query for any number of exams:
    the student's own results list (/api/v1/me/exams/) pages through exams at a constant cost."""
    found: dict[int, dict[str, Any] | None] = {exam.id: None for exam in exams}
    counted = _counted_by_exam(exams)
    for exam in exams:
        rows = _ranked_rows(exam, counted[exam.id])
        mine = next((row for row in rows if row["student_id"] == student_id), None)
        if mine is not None:
            found[exam.id] = {**mine, "ranked_count": len(rows)}
    return found


def exam_is_revised(exam: Exam) -> bool:
    return exam.published_revision is not None and exam.revision > exam.published_revision


def exam_stats(*, exam: Exam) -> dict[str, Any]:
    """Count, average, median, population standard deviation, max and min of the counted scores; per question
    the correct rate (0..1) and how many marked each choice, none (blank) or several (multiple). One query."""
    counted = _counted_sheets(exam)
    scores: list[Decimal] = []
    correct = [0] * exam.question_count
    choices = [[0] * exam.choice_count for _ in range(exam.question_count)]
    blank = [0] * exam.question_count
    multiple = [0] * exam.question_count
    for sheet in counted:
        score, _, outcomes = score_answers(sheet_marks(sheet, exam.question_count), exam.answer_key, exam.points)
        scores.append(score)
        for outcome in outcomes:
            i = outcome.number - 1
            correct[i] += int(bool(outcome.correct))
            if not outcome.marked:
                blank[i] += 1
            elif len(outcome.marked) > 1:
                multiple[i] += 1
            elif 1 <= outcome.marked[0] <= exam.choice_count:
                choices[i][outcome.marked[0] - 1] += 1
    count = len(scores)
    questions = [{
        "number": number, "key": _key_entry(exam.answer_key, number),
        "correct_rate": _round(Decimal(correct[number - 1]) / count) if count else None,
        "correct_count": correct[number - 1],
        "choices": [{"choice": c, "count": choices[number - 1][c - 1]} for c in range(1, exam.choice_count + 1)],
        "blank": blank[number - 1], "multiple": multiple[number - 1],
    } for number in range(1, exam.question_count + 1)]
    return {
        "exam_id": exam.id, "max_score": float(exam.max_score), "count": count,
        "average": _round(sum(scores, Decimal(0)) / count) if count else None,
        "median": _round(statistics.median(scores)) if count else None,
        "std_dev": _round(statistics.pstdev(scores)) if count else None,
        "max": float(max(scores)) if count else None,
        "min": float(min(scores)) if count else None,
        "questions": questions,
    }
