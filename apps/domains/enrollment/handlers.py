"""ARCHITECTURE §4 Excel enrollment and export: the excel fleet's job handlers and the hooks of their job kinds.

excel_import          download the roster, validate + parse + enroll it (one transaction), return the counts
excel_import_cleanup  on_terminal: delete the uploaded roster whatever the ending (DONE, FAILED, DEAD, CANCELLED)
excel_export          write a lecture's roster, upload it under exports/, return {key, filename, row_count}
excel_export_present  present_result: a DONE export's result plus a fresh short-lived download URL

Delivery is at least once. The import stores its result on the job row inside the import transaction, so a retry
after a worker died between committing and reporting returns that stored result instead of importing again.
"""

import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings

from apps.core.exceptions import DomainError
from apps.domains.enrollment.excel.export import enrollment_export_roster
from apps.domains.enrollment.excel.importer import enrollment_import_file
from apps.domains.enrollment.excel.services import (
    EXPORT_BUCKET,
    IMPORT_BUCKET,
    XLSX_CONTENT_TYPE,
    excel_export_key,
    excel_import_key,
)
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.selectors import lecture_scope
from apps.integrations.storage import ObjectNotFound, StorageError, get_storage
from apps.jobs.errors import MAX_FAILURE_DETAILS_BYTES, JobFailure, JobInterrupted, failure_details_size
from apps.jobs.models import Job
from apps.jobs.services import job_record_result

logger = logging.getLogger(__name__)

STAGE_DOWNLOAD = "다운로드"
STAGE_PERCENT = {STAGE_DOWNLOAD: 5, "분석": 20, "등록": 50}
STAGE_EXPORT_WRITE = "명단 작성"
STAGE_EXPORT_UPLOAD = "업로드"

FILE_MISSING = ("EXCEL_FILE_MISSING", "업로드한 파일을 찾을 수 없습니다. 파일을 다시 올려 주세요.")
STORAGE_UNAVAILABLE = ("EXCEL_STORAGE_UNAVAILABLE", "파일 저장소에 연결할 수 없습니다. 자동으로 다시 시도합니다.")


class _AlreadyRecorded(Exception):
    """Another attempt of the same job committed its import first: roll this one back and report that result."""


class _NoLongerRunning(Exception):
    """The job was cancelled (or ended) while importing: roll the import back."""


def _result_recorder(job: Job):
    def record(body: dict) -> None:
        # Runs inside the import transaction: the result commits with the rows it counts, or neither does.
        if job_record_result(job_id=job.id, result=body):
            return
        if Job.objects.filter(id=job.id, result__isnull=False).exists():
            raise _AlreadyRecorded()
        raise _NoLongerRunning()

    return record


def _scope(job: Job, *, lecture_id, session_id=None, archived_ok=False) -> tuple[Lecture | None, Session | None]:
    # Archived or purged since the upload, or a session moved to another lecture: the job fails for good with the
    # API's code.
    try:
        return lecture_scope(tenant=job.tenant, lecture_id=lecture_id, session_id=session_id, archived_ok=archived_ok)
    except DomainError as exc:
        raise JobFailure(exc.code, exc.message)


def _download(key: str, path: Path) -> None:
    try:
        get_storage().get_to_file(IMPORT_BUCKET, key, path)
    except ObjectNotFound:
        raise JobFailure(*FILE_MISSING)
    except StorageError:
        logger.warning("excel_import_download_failed", extra={"object": key}, exc_info=True)
        raise JobFailure(*STORAGE_UNAVAILABLE, retryable=True)


def excel_import(job: Job, ctx) -> dict:
    """payload {key, lecture_id, session_id, dry_run, initial_password_hash} → the ImportResult body.

    A file the validator or parser refuses (EXCEL_*), and EXCEL_NO_ROWS, fail the job for good; storage trouble is
    retried. Nothing is written unless the whole roster is enrolled.
    """
    if job.result is not None:
        logger.info("excel_import_result_reused", extra={"job_id": str(job.id), "tenant_id": job.tenant_id})
        return job.result
    payload = job.payload
    lecture, session = _scope(job, lecture_id=payload.get("lecture_id"), session_id=payload.get("session_id"))
    ctx.progress(STAGE_PERCENT[STAGE_DOWNLOAD], STAGE_DOWNLOAD)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="excel-import-") as directory:
        # The key ends in the format the upload was validated as; the parser reads the content, not the name.
        path = Path(directory) / f"roster{Path(payload['key']).suffix}"
        _download(payload["key"], path)
        downloaded = time.monotonic()
        try:
            result = enrollment_import_file(
                tenant=job.tenant, lecture=lecture, session=session, path=path, initial_password=None,
                initial_password_hash=payload.get("initial_password_hash") or None,
                dry_run=bool(payload.get("dry_run")), record_result=_result_recorder(job),
                on_stage=lambda stage: ctx.progress(STAGE_PERCENT[stage], stage),
                validated_sha256=payload.get("sha256"),
            )
        except _AlreadyRecorded:
            logger.info("excel_import_result_reused", extra={"job_id": str(job.id), "tenant_id": job.tenant_id})
            return Job.objects.values_list("result", flat=True).get(id=job.id)
        except _NoLongerRunning:
            raise JobInterrupted()
        except DomainError as error:
            # The message carries the summary the status body shows; details the per-row reasons (EXCEL_NO_ROWS).
            raise JobFailure(error.code, error.message, details=failure_details(error.details))
    logger.info("excel_import_handled", extra={
        "job_id": str(job.id), "tenant_id": job.tenant_id, "download_ms": round((downloaded - started) * 1000),
        "import_ms": round((time.monotonic() - downloaded) * 1000),
    })
    return result.to_dict()


def failure_details(details: dict) -> dict:
    """An import failure's details within MAX_FAILURE_DETAILS_BYTES, so they reach the status body however long the
    roster: the first skipped rows (the importer keeps 200), fewer when they are still too large, with
    `skipped_truncated` counting the rest and `skipped_count` all of them."""
    skipped = details.get("skipped")
    if not isinstance(skipped, list) or failure_details_size(details) <= MAX_FAILURE_DETAILS_BYTES:
        return details
    dropped_before = details.get("skipped_truncated") or 0
    kept = len(skipped)
    while True:
        kept //= 2
        trimmed = {**details, "skipped": skipped[:kept], "skipped_truncated": dropped_before + len(skipped) - kept}
        if not kept or failure_details_size(trimmed) <= MAX_FAILURE_DETAILS_BYTES:
            return trimmed


def excel_import_cleanup(job: Job) -> None:
    """No roster stays in storage once its job has ended, whatever the ending."""
    key = job.payload.get("key") or excel_import_key(tenant_id=job.tenant_id, job_id=job.id)
    get_storage().delete(IMPORT_BUCKET, key)
    logger.info("excel_import_file_deleted", extra={"job_id": str(job.id), "tenant_id": job.tenant_id,
                                                    "state": job.state})


def excel_export(job: Job, ctx) -> dict:
    """payload {lecture_id, statuses, filename} → {"key", "filename", "row_count"}; running it again overwrites."""
    payload = job.payload
    lecture, _ = _scope(job, lecture_id=payload["lecture_id"], archived_ok=True)
    filename = payload["filename"]
    key = excel_export_key(tenant_id=job.tenant_id, job_id=job.id, filename=filename)
    ctx.progress(10, STAGE_EXPORT_WRITE)
    with tempfile.TemporaryDirectory(prefix="excel-export-") as directory:
        path, row_count = enrollment_export_roster(
            tenant=job.tenant, lecture=lecture, path=Path(directory) / "roster.xlsx",
            statuses=payload.get("statuses") or None,
        )
        ctx.progress(80, STAGE_EXPORT_UPLOAD)
        try:
            get_storage().put_file(EXPORT_BUCKET, key, path, content_type=XLSX_CONTENT_TYPE)
        except StorageError:
            logger.warning("excel_export_upload_failed", extra={"job_id": str(job.id)}, exc_info=True)
            raise JobFailure(*STORAGE_UNAVAILABLE, retryable=True)
    return {"key": key, "filename": filename, "row_count": row_count}


def excel_export_present(job: Job) -> dict:
    """The stored result plus a download URL valid for EXCEL_EXPORT_URL_SECONDS; signing needs no query."""
    seconds = settings.EXCEL_EXPORT_URL_SECONDS
    url = get_storage().presign_get(EXPORT_BUCKET, job.result["key"], expires=seconds,
                                    download_name=job.result["filename"])
    return {**job.result, "download_url": url, "expires_in": seconds}
