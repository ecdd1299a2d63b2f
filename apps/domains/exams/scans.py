"""ARCHITECTURE §4 AI, exams: scans of filled OMR sheets in, an `omr_grading` job out.

An upload is one or more files (JPEG / PNG / HEIC photos, or PDFs of scanned stacks), each hostile until checked:
file count, per-file and total size (read no further than the limit), the type by its magic bytes, the pixel count
from the header (the decompression-bomb guard of apps/domains/ai/images.py, reused), and for a PDF its page count and
every page's pixel count at the render resolution. Checked files are stored in the AI bucket under
exams/<tenant>/<exam>/<scan>/<n>.<ext>, and the ExamScan row and its job are created in one transaction.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from PIL import Image, UnidentifiedImageError

from apps.core.exceptions import ConflictError, DomainError, PayloadTooLargeError
from apps.core.models import Tenant
from apps.domains.ai.errors import ImageTooLargeError, ImageTooManyPixelsError
from apps.domains.ai.images import check_image, read_limited
from apps.domains.ai.services import AI_BUCKET
from apps.integrations.storage import StorageError, get_storage
from apps.jobs.models import Job
from apps.jobs.services import job_submit

from .models import Exam, ExamScan, ExamState, SheetStatus

logger = logging.getLogger(__name__)

OMR_KIND = "omr_grading"
POINTS_PER_INCH = 72.0

PDF_MAGIC = b"%PDF-"
# ISO-BMFF brands of HEIF images as iPhones and Android phones write them (HEVC-coded; AVIF is not taken).
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def register_heif() -> None:
    """Pillow opens HEIC (iPhone photos) once pillow-heif registers its opener; idempotent."""
    import pillow_heif

    pillow_heif.register_heif_opener()


class ExamNotOpenError(ConflictError):
    default_code = "EXAM_NOT_OPEN"
    default_message = "답안 접수 중인 시험에만 답안지를 올릴 수 있습니다."


class ScanFileInvalidError(DomainError):
    default_code = "SCAN_FILE_INVALID"
    default_message = "답안지 파일을 읽을 수 없습니다. JPEG, PNG, HEIC 이미지나 PDF를 올려 주세요."


class ScanFileTooLargeError(PayloadTooLargeError):
    default_code = "SCAN_FILE_TOO_LARGE"
    default_message = "답안지 파일이 너무 큽니다."


class ScanTooManyFilesError(DomainError):
    default_code = "SCAN_TOO_MANY_FILES"
    default_message = "한 번에 올릴 수 있는 파일 수를 넘었습니다."


class ScanTooManyPagesError(DomainError):
    default_code = "SCAN_TOO_MANY_PAGES"
    default_message = "한 번에 올릴 수 있는 쪽수를 넘었습니다. 나누어 올려 주세요."


class ScanTooManyPixelsError(DomainError):
    default_code = "SCAN_TOO_MANY_PIXELS"
    default_message = "이미지나 PDF 쪽의 해상도가 너무 큽니다. 크기를 줄여서 다시 올려 주세요."


class ScanStorageUnavailableError(DomainError):
    status_code = 503
    default_code = "AI_STORAGE_UNAVAILABLE"
    default_message = "파일 저장소에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


@dataclass(frozen=True)
class CheckedScanFile:
    data: bytes
    format: str  # jpeg | png | heic | pdf
    extension: str
    content_type: str
    name: str
    pages: int


def _file_details(index: int, name: str, **more) -> dict:
    return {"file": index, "name": name[:200], **more}


def pdf_page_pixels(width_pt: float, height_pt: float, dpi: float | None = None) -> int:
    scale = (dpi or settings.EXAM_SCAN_RENDER_DPI) / POINTS_PER_INCH
    return int(round(width_pt * scale) * round(height_pt * scale))


def _check_heic(data: bytes, *, index: int, name: str) -> tuple[int, int]:
    register_heif()
    max_pixels = settings.EXAM_SCAN_MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=["HEIF"]) as image:
                width, height = image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ScanTooManyPixelsError(details=_file_details(index, name, max_pixels=max_pixels))
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, RuntimeError):
            raise ScanFileInvalidError(details=_file_details(index, name))
    if width < 1 or height < 1:
        raise ScanFileInvalidError(details=_file_details(index, name))
    if width * height > max_pixels:
        raise ScanTooManyPixelsError(details=_file_details(index, name, width=width, height=height,
                                                           max_pixels=max_pixels))
    return width, height


def _check_pdf(data: bytes, *, index: int, name: str, pages_left: int) -> int:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except (pdfium.PdfiumError, ValueError, OSError):
        raise ScanFileInvalidError(details=_file_details(index, name))
    try:
        count = len(document)
        if count < 1:
            raise ScanFileInvalidError(details=_file_details(index, name))
        if count > pages_left:
            raise ScanTooManyPagesError(details=_file_details(index, name, pages=count,
                                                              max_pages=settings.EXAM_SCAN_MAX_PAGES))
        max_pixels = settings.EXAM_SCAN_MAX_PIXELS
        for page_index in range(count):
            # The page's size from its boxes, without rendering: a 200-inch page is a bomb at render time.
            width, height = document.get_page_size(page_index)
            if pdf_page_pixels(width, height) > max_pixels:
                raise ScanTooManyPixelsError(details=_file_details(index, name, page=page_index + 1,
                                                                   max_pixels=max_pixels))
        return count
    except pdfium.PdfiumError:
        raise ScanFileInvalidError(details=_file_details(index, name))
    finally:
        document.close()


def scan_check_file(upload, *, index: int, pages_left: int) -> CheckedScanFile:
    """One uploaded file checked (see the module docstring); `pages_left` of the upload's page budget."""
    name = str(getattr(upload, "name", "") or "")
    max_bytes = settings.EXAM_SCAN_MAX_FILE_BYTES
    try:
        data = read_limited(upload, max_bytes)
    except ImageTooLargeError:
        raise ScanFileTooLargeError(details=_file_details(index, name, max_size=max_bytes))
    if data.startswith(PDF_MAGIC):
        pages = _check_pdf(data, index=index, name=name, pages_left=pages_left)
        return CheckedScanFile(data=data, format="pdf", extension="pdf", content_type="application/pdf",
                               name=name, pages=pages)
    if pages_left < 1:
        raise ScanTooManyPagesError(details=_file_details(index, name, max_pages=settings.EXAM_SCAN_MAX_PAGES))
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        _check_heic(data, index=index, name=name)
        return CheckedScanFile(data=data, format="heic", extension="heic", content_type="image/heic", name=name,
                               pages=1)
    try:
        image = check_image(data, max_bytes=max_bytes, max_pixels=settings.EXAM_SCAN_MAX_PIXELS)
    except ImageTooManyPixelsError as refused:
        raise ScanTooManyPixelsError(details=_file_details(index, name, **(refused.details or {})))
    except DomainError:
        raise ScanFileInvalidError(details=_file_details(index, name))
    return CheckedScanFile(data=data, format=image.format, extension=image.extension,
                           content_type=image.content_type, name=name, pages=1)


def scan_check_files(uploads: list) -> list[CheckedScanFile]:
    """Every file checked against the per-file limits and the upload's count, total size and page limits."""
    if not uploads:
        raise ScanFileInvalidError(message="올릴 파일이 없습니다.", details={"files": 0})
    if len(uploads) > settings.EXAM_SCAN_MAX_FILES:
        raise ScanTooManyFilesError(details={"files": len(uploads), "max_files": settings.EXAM_SCAN_MAX_FILES})
    declared = sum(int(getattr(upload, "size", 0) or 0) for upload in uploads)
    if declared > settings.EXAM_SCAN_MAX_TOTAL_BYTES:
        raise ScanFileTooLargeError(message="올린 파일의 합계가 너무 큽니다.",
                                    details={"size": declared, "max_total_size": settings.EXAM_SCAN_MAX_TOTAL_BYTES})
    checked: list[CheckedScanFile] = []
    total = pages = 0
    for index, upload in enumerate(uploads):
        found = scan_check_file(upload, index=index, pages_left=settings.EXAM_SCAN_MAX_PAGES - pages)
        total += len(found.data)
        pages += found.pages
        if total > settings.EXAM_SCAN_MAX_TOTAL_BYTES:
            raise ScanFileTooLargeError(message="올린 파일의 합계가 너무 큽니다.",
                                        details={"max_total_size": settings.EXAM_SCAN_MAX_TOTAL_BYTES})
        checked.append(found)
    return checked


def scan_file_key(*, tenant_id: int, exam_id: int, scan_id: int, number: int, extension: str) -> str:
    return f"exams/{tenant_id}/{exam_id}/{scan_id}/{number}.{extension}"


def scan_aligned_key(*, tenant_id: int, exam_id: int, scan_id: int, page_number: int) -> str:
    return f"exams/{tenant_id}/{exam_id}/{scan_id}/aligned/{page_number}.jpg"


def scan_submit(*, tenant: Tenant, exam: Exam, created_by, uploads: list) -> tuple[ExamScan, Job]:
    """Check the files, store them, create the ExamScan and submit its `omr_grading` job in one transaction.

    The job row commits with the scan; its dispatch runs after the commit (a failed send leaves it QUEUED for the
    scheduler). A failure before the commit deletes whatever was stored."""
    if exam.state != ExamState.OPEN:
        raise ExamNotOpenError(details={"exam_id": exam.id, "state": exam.state})
    checked = scan_check_files(uploads)
    storage = get_storage()
    stored: list[str] = []
    try:
        with transaction.atomic():
            # The exam is re-read under a lock: a scan never lands on an exam published meanwhile.
            locked = Exam.objects.select_for_update().get(id=exam.id)
            if locked.state != ExamState.OPEN:
                raise ExamNotOpenError(details={"exam_id": exam.id, "state": locked.state})
            scan = ExamScan.objects.create(tenant=tenant, exam=exam, created_by=created_by)
            files = []
            for number, found in enumerate(checked, start=1):
                key = scan_file_key(tenant_id=tenant.id, exam_id=exam.id, scan_id=scan.id, number=number,
                                    extension=found.extension)
                try:
                    storage.put(AI_BUCKET, key, found.data, content_type=found.content_type)
                except StorageError:
                    logger.exception("exam_scan_store_failed", extra={"tenant_id": tenant.id, "scan_id": scan.id})
                    raise ScanStorageUnavailableError()
                stored.append(key)
                files.append({"key": key, "content_type": found.content_type, "name": found.name[:200],
                              "size": len(found.data), "pages": found.pages})
            scan.files = files
            scan.page_count = sum(found.pages for found in checked)
            job = job_submit(tenant=tenant, kind=OMR_KIND, payload={"scan_id": scan.id}, created_by=created_by)
            scan.job = job
            scan.save(update_fields=["files", "page_count", "job"])
    except BaseException:
        if stored:
            try:
                storage.delete_keys(AI_BUCKET, stored)
            except StorageError:
                logger.warning("exam_scan_cleanup_failed", extra={"tenant_id": tenant.id, "objects": len(stored)})
        raise
    logger.info("exam_scan_submitted", extra={"tenant_id": tenant.id, "exam_id": exam.id, "scan_id": scan.id,
                                              "job_id": str(job.id), "queue": job.queue, "files": len(files),
                                              "pages": scan.page_count})
    return scan, job


def scan_list(*, exam: Exam):
    """The exam's scans, newest first, each with its sheets counted per status."""
    return (ExamScan.objects.filter(tenant_id=exam.tenant_id, exam=exam)
            .annotate(graded_count=Count("sheets", filter=Q(sheets__status=SheetStatus.GRADED)),
                      review_count=Count("sheets", filter=Q(sheets__status=SheetStatus.REVIEW)),
                      unreadable_count=Count("sheets", filter=Q(sheets__status=SheetStatus.UNREADABLE)))
            .order_by("-created_at", "-id"))
