"""AI jobs, API side (ARCHITECTURE §4 AI): check the upload, store it in the AI bucket, submit the job.

OCR: the image is stored at ocr/{tenant_id}/{job_id}.{jpg|png} and an `ocr` job (lite tier, or premium for a premium
academy) is submitted with ids only; the image is deleted once the job ends (handlers.ocr_cleanup).
"""

import logging
import threading
import time
import uuid

from django.conf import settings

from apps.core.models import Tenant
from apps.integrations.storage import StorageError, get_storage
from apps.jobs.errors import JobDispatchError
from apps.jobs.models import Job
from apps.jobs.services import job_submit

from . import ocr
from .errors import AiEnqueueFailedError, AiStorageUnavailableError, OcrUnavailableError
from .images import check_image, read_limited

logger = logging.getLogger(__name__)

OCR_KIND = "ocr"
AI_BUCKET = "ai"
# How long one answer of the Tesseract check is trusted: installing Tesseract takes effect without a restart.
OCR_CHECK_TTL_SECONDS = 60.0

_check_lock = threading.Lock()
_check_cache: dict[str, tuple[float, list[str] | None]] = {}


def ocr_image_key(*, tenant_id: int, job_id: uuid.UUID | str, extension: str) -> str:
    return f"ocr/{tenant_id}/{job_id}.{extension}"


def ocr_missing(*, now: float | None = None) -> list[str] | None:
    """What this machine lacks to run OCR: None when nothing, ["tesseract"] without the binary, else the missing
    languages. Cached per Tesseract command for OCR_CHECK_TTL_SECONDS (`tesseract --list-langs` is a process)."""
    command = settings.AI_TESSERACT_CMD
    now = time.monotonic() if now is None else now
    with _check_lock:
        cached = _check_cache.get(command)
        if cached is not None and now - cached[0] < OCR_CHECK_TTL_SECONDS:
            return cached[1]
        try:
            missing = ocr.missing_languages(command) or None
        except ocr.OcrUnavailable:
            missing = ["tesseract"]
        _check_cache[command] = (now, missing)
        return missing


def ocr_check_reset() -> None:
    with _check_lock:
        _check_cache.clear()


def ocr_require_available() -> None:
    """503 OCR_UNAVAILABLE when this machine cannot run OCR (AI_OCR_CHECK_LOCAL: the API shares the machine with
    the AI workers, as under `make run`; an API host without Tesseract whose workers have it turns it off)."""
    if not settings.AI_OCR_CHECK_LOCAL:
        return
    missing = ocr_missing()
    if missing:
        raise OcrUnavailableError(details={"missing": missing})


def ocr_submit(*, tenant: Tenant, created_by, upload) -> Job:
    """Check OCR is available and the upload is a safe image, store it, submit the `ocr` job; returns it QUEUED."""
    ocr_require_available()
    image = check_image(read_limited(upload, settings.AI_IMAGE_MAX_BYTES), max_bytes=settings.AI_IMAGE_MAX_BYTES,
                        max_pixels=settings.AI_IMAGE_MAX_PIXELS)
    job_id = uuid.uuid4()
    key = ocr_image_key(tenant_id=tenant.id, job_id=job_id, extension=image.extension)
    try:
        get_storage().put(AI_BUCKET, key, image.data, content_type=image.content_type)
    except StorageError:
        logger.exception("ocr_image_store_failed", extra={"tenant_id": tenant.id, "job_id": str(job_id)})
        raise AiStorageUnavailableError()
    try:
        job = job_submit(tenant=tenant, kind=OCR_KIND, payload={"key": key}, created_by=created_by, job_id=job_id)
    except JobDispatchError:
        # The row is QUEUED and the scheduler sends it; the image stays for it.
        raise AiEnqueueFailedError(details={"job_id": str(job_id), "status": "QUEUED"})
    except Exception:
        # No job row: nothing would ever delete the image.
        ocr_delete_image(key)
        raise
    logger.info("ocr_submitted", extra={"tenant_id": tenant.id, "job_id": str(job.id), "queue": job.queue,
                                        "size": len(image.data), "format": image.format,
                                        "pixels": image.width * image.height})
    return job


def ocr_delete_image(key: str) -> None:
    try:
        get_storage().delete(AI_BUCKET, key)
    except StorageError:
        logger.warning("ocr_image_delete_failed", extra={"bucket": AI_BUCKET, "object": key})
