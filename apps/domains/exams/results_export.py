"""Exam results as an Excel file, written by a job (ARCHITECTURE §4 Excel export): kind `exam_results_export` on the
excel fleet, like the roster export: the API submits, the worker writes and uploads under exports/, and a DONE job's
status carries a fresh short-lived download URL. Running the job again overwrites the same object (idempotent)."""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook

from apps.core.exceptions import ServiceUnavailableError
from apps.core.models import Tenant
from apps.domains.enrollment.excel.export import safe_cell
from apps.domains.enrollment.excel.services import (
    EXPORT_BUCKET,
    XLSX_CONTENT_TYPE,
    excel_export_key,
    excel_safe_filename,
)
from apps.domains.exams.models import Exam
from apps.domains.exams.results_selectors import exam_results
from apps.integrations.storage import StorageError, get_storage
from apps.jobs.errors import JobDispatchError, JobFailure
from apps.jobs.models import Job
from apps.jobs.services import job_submit

logger = logging.getLogger(__name__)

EXPORT_KIND = "exam_results_export"
HEADERS = ["순위", "학생", "점수", "만점", "맞은 문항 수", "백분위"]


class ExamExportEnqueueFailedError(ServiceUnavailableError):
    default_code = "EXAM_EXPORT_ENQUEUE_FAILED"
    default_message = "작업 대기열 등록이 지연되고 있습니다. 자동으로 다시 시도되니 잠시 후 진행 상황을 확인해 주세요."


def exam_results_export_submit(*, tenant: Tenant, exam: Exam, created_by=None) -> Job:
    payload = {"exam_id": exam.id,
               "filename": excel_safe_filename(f"{exam.title}_성적_{timezone.localdate():%Y%m%d}", default="성적")}
    job_id = uuid.uuid4()
    try:
        job = job_submit(tenant=tenant, kind=EXPORT_KIND, payload=payload, created_by=created_by, job_id=job_id)
    except JobDispatchError:
        raise ExamExportEnqueueFailedError(details={"job_id": str(job_id), "status": "QUEUED"})
    logger.info("exam_results_export_submitted", extra={"tenant_id": tenant.id, "job_id": str(job.id),
                                                        "exam_id": exam.id})
    return job


def _mark_text(answer: dict) -> str:
    """O or X and what was marked: "O 3", "X 1,4", "X -" (blank); a void question is O for everyone."""
    marked = ",".join(str(c) for c in answer["marked"]) or "-"
    return f"{'O' if answer['correct'] else 'X'} {marked}"


def write_results_xlsx(*, exam: Exam, path: Path) -> int:
    """The results sheet (one row per counted student, by rank) and the absent students; returns the row count."""
    results = exam_results(exam=exam)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("성적")
    sheet.append([*HEADERS, *(f"{n}번" for n in range(1, exam.question_count + 1))])
    key_row = ["", "정답", "", "", "", ""]
    for number in range(1, exam.question_count + 1):
        entry = exam.answer_key[number - 1]
        key_row.append("무효" if entry is None else ",".join(str(c) for c in (entry if isinstance(entry, list)
                                                                              else [entry])))
    sheet.append(key_row)
    for row in results["results"]:
        sheet.append([row["rank"], safe_cell(sheet, row["student_name"]), row["score"], results["max_score"],
                      row["correct_count"], row["percentile"], *(_mark_text(a) for a in row["answers"])])
    if results["missing"]:
        absent = workbook.create_sheet("미응시")
        absent.append(["학생"])
        for student in results["missing"]:
            absent.append([safe_cell(absent, student["student_name"])])
    workbook.save(path)
    return len(results["results"])


def exam_results_export(job: Job, ctx) -> dict:
    """payload {exam_id, filename} → {"key", "filename", "row_count"}."""
    exam = Exam.objects.filter(tenant_id=job.tenant_id, id=job.payload.get("exam_id")).select_related("tenant").first()
    if exam is None:
        raise JobFailure("EXAM_NOT_FOUND", "시험을 찾을 수 없습니다.")
    filename = job.payload["filename"]
    key = excel_export_key(tenant_id=job.tenant_id, job_id=job.id, filename=filename)
    ctx.progress(10, "성적표 작성")
    with tempfile.TemporaryDirectory(prefix="exam-export-") as directory:
        path = Path(directory) / "results.xlsx"
        row_count = write_results_xlsx(exam=exam, path=path)
        ctx.progress(80, "업로드")
        try:
            get_storage().put_file(EXPORT_BUCKET, key, path, content_type=XLSX_CONTENT_TYPE)
        except StorageError:
            logger.warning("exam_results_export_upload_failed", extra={"job_id": str(job.id)}, exc_info=True)
            raise JobFailure("EXCEL_STORAGE_UNAVAILABLE", "파일 저장소에 연결할 수 없습니다. 자동으로 다시 시도합니다.",
                             retryable=True)
    return {"key": key, "filename": filename, "row_count": row_count}


def exam_results_export_present(job: Job) -> dict:
    seconds = settings.EXCEL_EXPORT_URL_SECONDS
    url = get_storage().presign_get(EXPORT_BUCKET, job.result["key"], expires=seconds,
                                    download_name=job.result["filename"])
    return {**job.result, "download_url": url, "expires_in": seconds}
