"""Excel jobs, API side (ARCHITECTURE §4 Excel enrollment and export): store the upload, create and send the job.

An import is checked (`excel_validate_upload`) and scoped (lecture and session of the caller's tenant) before
anything is stored; then the roster is put at imports/{tenant_id}/{job_id}.{format} in the excel bucket (xlsx, xls,
ods or csv, as the validator found it) and the job is
submitted with ids only. The initial password travels as a Django password hash, never in clear: the hash is what
the user table stores anyway, a worker only copies it onto the new accounts, and no key has to be shared with the
workers (an encrypted password would need one, and the plain text would exist again in every worker).
"""

import logging
import re
import unicodedata
import uuid
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from apps.core.models import Tenant
from apps.domains.lectures.selectors import lecture_get, lecture_scope
from apps.integrations.storage import ObjectInfo, StorageError, get_storage
from apps.jobs.errors import JobDispatchError
from apps.jobs.models import Job
from apps.jobs.services import job_submit

from .errors import ExcelEnqueueFailedError, ExcelStorageUnavailableError
from .validation import excel_file_sha256, excel_validate_upload

logger = logging.getLogger(__name__)

IMPORT_KIND = "excel_import"
EXPORT_KIND = "excel_export"
IMPORT_BUCKET = "excel"
EXPORT_BUCKET = "storage"
EXPORT_PREFIX = "exports/"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_CONTENT_TYPES = {
    "xlsx": XLSX_CONTENT_TYPE,
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}
# Characters a file name may not hold on Windows or in a storage key, plus control characters.
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
# Hangul is 3 bytes in UTF-8: 60 characters keep "<job id>_<name>.xlsx.json" under the 255-byte file name limit.
MAX_FILENAME_CHARS = 60


def excel_import_key(*, tenant_id: int, job_id: uuid.UUID | str, file_format: str = "xlsx") -> str:
    return f"imports/{tenant_id}/{job_id}.{file_format}"


def excel_export_key(*, tenant_id: int, job_id: uuid.UUID | str, filename: str) -> str:
    return f"{EXPORT_PREFIX}{tenant_id}/{job_id}_{filename}"


def excel_safe_filename(name: str | None, *, default: str) -> str:
    """A download name safe in a storage key and on any desktop, always ending in .xlsx."""
    stem = unicodedata.normalize("NFKC", name or "").strip()
    if stem.lower().endswith(".xlsx"):
        stem = stem[:-5]
    stem = _UNSAFE_FILENAME.sub("_", stem).strip(" ._")[:MAX_FILENAME_CHARS].strip(" ._")
    if not stem:
        stem = _UNSAFE_FILENAME.sub("_", unicodedata.normalize("NFKC", default)).strip(" ._")[:MAX_FILENAME_CHARS]
    return f"{stem}.xlsx"


def _delete_quietly(bucket: str, key: str) -> None:
    try:
        get_storage().delete(bucket, key)
    except StorageError:
        # The bucket's lifecycle rule (docs/excel.md) removes it later.
        logger.warning("excel_object_delete_failed", extra={"bucket": bucket, "object": key})


def excel_import_submit(
    *,
    tenant: Tenant,
    created_by,
    upload,
    lecture_id: int | None = None,
    session_id: int | None = None,
    initial_password: str | None = None,
    dry_run: bool = False,
) -> Job:
    """Check the upload, store it and submit an excel_import job; returns the QUEUED job.

    `upload` is a seekable binary file with a `name` (a Django UploadedFile). Refusals, in order and each before
    anything is stored: another tenant's lecture or session (404), a session of another lecture (400), a file that
    is not a safe roster file (the validator's code). A storage failure raises ExcelStorageUnavailableError (503, no
    job); a queue failure ExcelEnqueueFailedError (503, details.job_id): the job stays QUEUED, the file is kept and
    `scan_stuck_jobs` sends it later.
    """
    lecture, session = lecture_scope(tenant=tenant, lecture_id=lecture_id, session_id=session_id)
    file_format = excel_validate_upload(upload, filename=getattr(upload, "name", "") or "")
    digest = excel_file_sha256(upload)

    job_id = uuid.uuid4()
    key = excel_import_key(tenant_id=tenant.id, job_id=job_id, file_format=file_format)
    upload.seek(0)
    try:
        get_storage().put(IMPORT_BUCKET, key, upload, content_type=IMPORT_CONTENT_TYPES[file_format])
    except StorageError:
        logger.exception("excel_import_store_failed", extra={"tenant_id": tenant.id, "job_id": str(job_id)})
        raise ExcelStorageUnavailableError()

    payload = {
        "key": key,
        "lecture_id": lecture.id if lecture else None,
        "session_id": session.id if session else None,
        "dry_run": bool(dry_run),
        "initial_password_hash": make_password(initial_password) if initial_password else None,
        "sha256": digest,
    }
    try:
        job = job_submit(tenant=tenant, kind=IMPORT_KIND, payload=payload, created_by=created_by, job_id=job_id)
    except JobDispatchError:
        raise ExcelEnqueueFailedError(details={"job_id": str(job_id), "status": "QUEUED"})
    except Exception:
        # No job row was written: nothing would ever clean the stored roster up.
        _delete_quietly(IMPORT_BUCKET, key)
        raise
    logger.info("excel_import_submitted", extra={
        "tenant_id": tenant.id, "job_id": str(job.id), "lecture_id": payload["lecture_id"],
        "session_id": payload["session_id"], "dry_run": payload["dry_run"], "size": getattr(upload, "size", None),
        "format": file_format,
    })
    return job


def excel_export_submit(
    *,
    tenant: Tenant,
    created_by,
    lecture_id: int,
    statuses: list[str] | None = None,
    filename: str | None = None,
) -> Job:
    """Submit an excel_export job for one lecture of the tenant; returns the QUEUED job.

    Another tenant's lecture is a 404; a queue failure raises ExcelEnqueueFailedError with details.job_id.
    """
    # An archived lecture's roster is history worth exporting.
    lecture = lecture_get(tenant=tenant, lecture_id=lecture_id, archived_ok=True)
    default = f"{lecture.title}_수강생명단_{timezone.localdate():%Y%m%d}"
    payload = {
        "lecture_id": lecture.id,
        "statuses": sorted(set(statuses or [])),
        "filename": excel_safe_filename(filename, default=default),
    }
    job_id = uuid.uuid4()
    try:
        job = job_submit(tenant=tenant, kind=EXPORT_KIND, payload=payload, created_by=created_by, job_id=job_id)
    except JobDispatchError:
        raise ExcelEnqueueFailedError(details={"job_id": str(job_id), "status": "QUEUED"})
    logger.info("excel_export_submitted", extra={"tenant_id": tenant.id, "job_id": str(job.id),
                                                  "lecture_id": lecture.id})
    return job


def excel_exports_purge(
    *, older_than: timedelta, dry_run: bool = False, now: datetime | None = None
) -> list[ObjectInfo]:
    """Delete (or with dry_run only list) the exports last modified before `now - older_than`; returns them."""
    cutoff = (now or timezone.now()) - older_than
    storage = get_storage()
    # Listed in full first: deleting while paginating would shift the listing under the paginator.
    expired = [info for info in storage.list_prefix(EXPORT_BUCKET, EXPORT_PREFIX)
               if info.last_modified is not None and info.last_modified < cutoff]
    if not dry_run:
        for info in expired:
            storage.delete(EXPORT_BUCKET, info.key)
    return expired
