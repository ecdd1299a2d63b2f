"""ARCHITECTURE §4 AI, exams: the `omr_grading` job on the AI fleet's basic tier, and the hook of its kind.

omr_grading        each page of a scan in upload order: decode (or render a PDF page), grade, decide, store the aligned
                   image, record one ExamSheet; returns {pages, graded, review, unreadable}
omr_grading_ended  on_terminal: a scan whose job did not end DONE is FAILED (the pages graded stay)

Delivery is at least once and an attempt may die anywhere. Each page is recorded as soon as it is graded, by one
INSERT that does nothing when the page is already there (unique scan + page), and an attempt starts by skipping the
pages recorded before it: a retried, taken-over or timed-out job grades only the pages left and no page is recorded
twice. A page that cannot be decoded or graded is UNREADABLE with a reason; it never fails the other pages. PDFs are
opened from a file and rendered one page at a time, so memory does not grow with the page count.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from apps.core.exceptions import DomainError
from apps.integrations.storage import ObjectNotFound, StorageError, get_storage
from apps.jobs.errors import JobFailure, JobInterrupted
from apps.jobs.models import Job, JobState

from .models import ExamScan, ExamSheet, ScanState, SheetStatus
from .omr.grading import PageReading, PageStatus, grade_page
from .omr.render import _to_gray
from .omr.scoring import SheetOutcome, decide_sheet
from .results import exam_sheets_flag_duplicates
from .scans import (
    AI_BUCKET,
    POINTS_PER_INCH,
    pdf_page_pixels,
    register_heif,
    scan_aligned_key,
    scan_check_file,
)
from .selectors import exam_roster, exam_settings_get, exam_sheet_layout, student_identifier

logger = logging.getLogger(__name__)

STAGE = "채점"
SCAN_MISSING = ("EXAM_SCAN_NOT_FOUND", "채점할 답안지 묶음을 찾을 수 없습니다.")
SCAN_PURGED = ("EXAM_SCAN_PURGED", "보관 기간이 지나 답안지 파일이 삭제되었습니다.")
STORAGE_UNAVAILABLE = ("AI_STORAGE_UNAVAILABLE", "파일 저장소에 연결할 수 없습니다. 자동으로 다시 시도합니다.")

# Why a page is UNREADABLE besides the grader's own reasons (MARKERS_NOT_FOUND, EMPTY_IMAGE, IMAGE_ERROR).
REASON_FILE_MISSING = "FILE_MISSING"
REASON_FILE_INVALID = "FILE_INVALID"
REASON_PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
REASON_DECODE_FAILED = "DECODE_FAILED"
REASON_GRADING_ERROR = "GRADING_ERROR"

# The aligned page (2 px/pt from the grader) is kept at this fraction for the review screen, as JPEG.
ALIGNED_SCALE = 0.75
ALIGNED_JPEG_QUALITY = 80


@dataclass
class _Page:
    number: int
    image: np.ndarray | None = None
    reason: str = ""  # why there is no image


def _identifier_map(exam) -> dict[str, list]:
    """Identifier → the exam's students who write it (a list: siblings sharing a parent phone go to REVIEW)."""
    source = exam_settings_get(tenant=exam.tenant).identifier_source
    found: dict[str, list] = {}
    for student in exam_roster(exam=exam):
        identifier = student_identifier(student=student, source=source)
        if identifier:
            found.setdefault(identifier, []).append(student)
    return found


def _download(key: str, directory: Path) -> Path | None:
    """The stored file in `directory`, or None when it is gone; a storage outage is retried by another attempt."""
    path = directory / "scan"
    try:
        get_storage().get_to_file(AI_BUCKET, key, path)
    except ObjectNotFound:
        return None
    except StorageError:
        raise JobFailure(*STORAGE_UNAVAILABLE, retryable=True)
    return path


def _decode_image(path: Path, entry: dict) -> np.ndarray:
    data = path.read_bytes()
    # The stored file is checked again as at upload (type by its bytes, pixel count before decoding).
    checked = scan_check_file(io.BytesIO(data), index=0, pages_left=1)
    if checked.format == "heic":
        register_heif()
        from PIL import Image

        with Image.open(io.BytesIO(data), formats=["HEIF"]) as picture:
            return np.asarray(picture.convert("L"))
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("undecodable image")
    return image


def _pdf_pages(path: Path, numbers: list[int], todo: set[int]) -> Iterator[_Page]:
    """Pages of a stored PDF as _Page, rendering only those in `todo`, one at a time."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError, ValueError):
        for number in numbers:
            if number in todo:
                yield _Page(number, reason=REASON_FILE_INVALID)
        return
    try:
        count = len(document)
        scale = settings.EXAM_SCAN_RENDER_DPI / POINTS_PER_INCH
        for index, number in enumerate(numbers):
            if number not in todo:
                continue
            if index >= count:
                yield _Page(number, reason=REASON_FILE_INVALID)
                continue
            try:
                width, height = document.get_page_size(index)
                if pdf_page_pixels(width, height) > settings.EXAM_SCAN_MAX_PIXELS:
                    yield _Page(number, reason=REASON_PAGE_TOO_LARGE)
                    continue
                page = document[index]
                try:
                    image = _to_gray(page, scale)
                finally:
                    page.close()
            except Exception:
                logger.warning("omr_page_render_failed", extra={"page": number}, exc_info=True)
                yield _Page(number, reason=REASON_DECODE_FAILED)
                continue
            yield _Page(number, image=image)
            del image
    finally:
        document.close()


def _pages(scan: ExamScan, todo: set[int]) -> Iterator[_Page]:
    """Every page of the scan still to grade, in upload order; files whose pages are all done are not downloaded."""
    first = 1
    for entry in scan.files:
        pages = max(int(entry.get("pages") or 1), 1)
        numbers = list(range(first, first + pages))
        first += pages
        if not todo.intersection(numbers):
            continue
        with tempfile.TemporaryDirectory(prefix="omr-") as work:
            path = _download(entry["key"], Path(work))
            if path is None:
                logger.warning("omr_scan_file_missing", extra={"scan_id": scan.id, "object": entry["key"]})
                for number in numbers:
                    if number in todo:
                        yield _Page(number, reason=REASON_FILE_MISSING)
                continue
            if entry.get("content_type") == "application/pdf":
                yield from _pdf_pages(path, numbers, todo)
                continue
            try:
                image = _decode_image(path, entry)
            except DomainError:
                yield _Page(numbers[0], reason=REASON_FILE_INVALID)
                continue
            except Exception:
                logger.warning("omr_image_decode_failed", extra={"scan_id": scan.id}, exc_info=True)
                yield _Page(numbers[0], reason=REASON_DECODE_FAILED)
                continue
            yield _Page(numbers[0], image=image)


def _store_aligned(scan: ExamScan, page_number: int, aligned: np.ndarray) -> str:
    small = cv2.resize(aligned, None, fx=ALIGNED_SCALE, fy=ALIGNED_SCALE, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, ALIGNED_JPEG_QUALITY])
    if not ok:
        return ""
    key = scan_aligned_key(tenant_id=scan.tenant_id, exam_id=scan.exam_id, scan_id=scan.id, page_number=page_number)
    try:
        # Same key on every attempt: an attempt that died after this put overwrites it with the same page.
        get_storage().put(AI_BUCKET, key, encoded.tobytes(), content_type="image/jpeg")
    except StorageError:
        raise JobFailure(*STORAGE_UNAVAILABLE, retryable=True)
    return key


def _rounded(values) -> list[float]:
    return [round(float(value), 3) for value in values]


def _sheet(scan: ExamScan, page_number: int, reading: PageReading | None, outcome: SheetOutcome,
           aligned_key: str) -> ExamSheet:
    read = reading is not None and reading.status == PageStatus.READ
    exam = scan.exam
    return ExamSheet(
        tenant_id=scan.tenant_id, exam=exam, scan=scan, page_number=page_number,
        status=str(outcome.status), review_reasons=list(outcome.reasons),
        student=outcome.student, identifier=outcome.identifier or "",
        answers=[list(answer.choices_marked) for answer in reading.answers] if read else [],
        states=[str(answer.state) for answer in reading.answers] if read else [],
        fills={
            "questions": [_rounded(answer.fills) for answer in reading.answers],
            "identifier": [_rounded(digit.fills) for digit in reading.identifier],
            "identifier_states": [str(digit.state) for digit in reading.identifier],
            "stats": {name: round(float(value), 4) for name, value in reading.stats.items()},
        } if read else {},
        alignment_quality=reading.alignment_quality if read else None,
        aligned_image_key=aligned_key,
        # Earned so far: final when GRADED; a REVIEW sheet's is recomputed once a teacher settles it.
        score=outcome.score if read else None,
        correct_count=outcome.correct_count if read else None,
        graded_revision=exam.revision,
    )


def _grade(scan: ExamScan, page: _Page, layout: dict, students: dict) -> ExamSheet:
    """One page → its unsaved ExamSheet; nothing a picture holds makes this raise."""
    exam = scan.exam
    if page.image is None:
        outcome = SheetOutcome(status=SheetStatus.UNREADABLE, reasons=[page.reason])
        return _sheet(scan, page.number, None, outcome, "")
    try:
        reading = grade_page(page.image, layout)
        outcome = decide_sheet(reading, exam.answer_key, exam.points, students)
    except Exception:
        logger.warning("omr_page_grading_failed", extra={"scan_id": scan.id, "page": page.number}, exc_info=True)
        outcome = SheetOutcome(status=SheetStatus.UNREADABLE, reasons=[REASON_GRADING_ERROR])
        return _sheet(scan, page.number, None, outcome, "")
    key = ""
    if reading.status == PageStatus.READ and reading.aligned is not None:
        key = _store_aligned(scan, page.number, reading.aligned)
    return _sheet(scan, page.number, reading, outcome, key)


def _done_pages(scan: ExamScan) -> set[int]:
    return set(ExamSheet.objects.filter(scan=scan).values_list("page_number", flat=True))


def _counts(scan: ExamScan) -> dict:
    counts = ExamSheet.objects.filter(scan=scan).aggregate(
        graded=Count("id", filter=Q(status=SheetStatus.GRADED)),
        review=Count("id", filter=Q(status=SheetStatus.REVIEW)),
        unreadable=Count("id", filter=Q(status=SheetStatus.UNREADABLE)),
    )
    return {"pages": scan.page_count, **counts}


def omr_grading(job: Job, ctx) -> dict:
    # One grading thread per worker process: the fleet's processes are the parallelism, not OpenCV's pool.
    cv2.setNumThreads(1)
    scan_id = (job.payload or {}).get("scan_id")
    scan = (ExamScan.objects.select_related("exam").filter(id=scan_id, tenant_id=job.tenant_id).first()
            if isinstance(scan_id, int) else None)
    if scan is None:
        raise JobFailure(*SCAN_MISSING, details={"scan_id": scan_id})
    if scan.purged_at is not None:
        raise JobFailure(*SCAN_PURGED, details={"scan_id": scan.id})
    ExamScan.objects.filter(id=scan.id, state=ScanState.QUEUED).update(state=ScanState.GRADING)

    done = _done_pages(scan)
    todo = set(range(1, scan.page_count + 1)) - done
    layout = exam_sheet_layout(exam=scan.exam)
    students = _identifier_map(scan.exam) if todo else {}
    pages_done = len(done)
    reported = -1
    logger.info("omr_grading_started", extra={"job_id": str(job.id), "scan_id": scan.id, "pages": scan.page_count,
                                              "pages_left": len(todo)})
    for page in _pages(scan, todo):
        if ctx.stop_requested:
            raise JobInterrupted(details={"pages_done": pages_done, "pages": scan.page_count})
        sheet = _grade(scan, page, layout, students)
        page.image = None
        # ON CONFLICT DO NOTHING: an attempt racing a taken-over one never records a page twice.
        ExamSheet.objects.bulk_create([sheet], ignore_conflicts=True)
        pages_done += 1
        percent = int(100 * pages_done / max(scan.page_count, 1))
        if percent != reported:
            ctx.progress(percent, STAGE)
            reported = percent
    # A student's second sheet (in this scan or an earlier one) waits for review instead of counting twice.
    exam_sheets_flag_duplicates(exam=scan.exam)
    result = _counts(scan)
    ExamScan.objects.filter(id=scan.id, state__in=[ScanState.QUEUED, ScanState.GRADING]).update(
        state=ScanState.DONE, finished_at=timezone.now())
    logger.info("omr_grading_done", extra={"job_id": str(job.id), "scan_id": scan.id, **result})
    return result


def omr_grading_ended(job: Job) -> None:
    """A scan whose job ended FAILED, DEAD or CANCELLED is FAILED; the pages it graded stay."""
    if job.state == JobState.DONE:
        return
    scan_id = (job.payload or {}).get("scan_id")
    if isinstance(scan_id, int):
        ExamScan.objects.filter(id=scan_id, tenant_id=job.tenant_id,
                                state__in=[ScanState.QUEUED, ScanState.GRADING]).update(
            state=ScanState.FAILED, finished_at=timezone.now())
