"""ARCHITECTURE §4 AI: the ai fleet's OCR handler and the hook of its job kind.

ocr          download the image, check it again, run Tesseract (kor+eng) within the attempt's lease, return
             {text, confidence}
ocr_cleanup  on_terminal: delete the uploaded image whatever the ending

Delivery is at least once; OCR writes nothing but its result, so running it twice is harmless.
"""

import logging
import tempfile
from pathlib import Path

from django.conf import settings

from apps.core.exceptions import DomainError
from apps.integrations.storage import ObjectNotFound, StorageError, get_storage
from apps.jobs.errors import JobFailure, JobInterrupted
from apps.jobs.models import Job
from apps.jobs.services import INFERENCE_TIMEOUT_CODE, INFERENCE_TIMEOUT_MESSAGE

from . import ocr
from .images import check_image
from .services import AI_BUCKET, ocr_delete_image

logger = logging.getLogger(__name__)

IMAGE_MISSING = ("OCR_IMAGE_MISSING", "업로드한 이미지를 찾을 수 없습니다. 이미지를 다시 올려 주세요.")
STORAGE_UNAVAILABLE = ("AI_STORAGE_UNAVAILABLE", "파일 저장소에 연결할 수 없습니다. 자동으로 다시 시도합니다.")
UNAVAILABLE = ("OCR_UNAVAILABLE", "이 작업자에는 글자 인식(Tesseract, 한국어 데이터)이 없습니다. 다른 작업자가 다시 "
               "시도합니다.")
FAILED = ("OCR_FAILED", "이미지에서 글자를 인식하지 못했습니다.")


def _download(key: str) -> bytes:
    storage = get_storage()
    try:
        info = storage.head(AI_BUCKET, key)
        if info is None:
            raise ObjectNotFound(key)
        if info.size > settings.AI_IMAGE_MAX_BYTES:
            raise JobFailure("AI_IMAGE_TOO_LARGE", "이미지 파일이 너무 큽니다.")
        with tempfile.TemporaryDirectory() as work:
            path = Path(work) / "image"
            storage.get_to_file(AI_BUCKET, key, path)
            return path.read_bytes()
    except ObjectNotFound:
        raise JobFailure(*IMAGE_MISSING)
    except StorageError:
        raise JobFailure(*STORAGE_UNAVAILABLE, retryable=True)


def ocr_image(job: Job, ctx) -> dict:
    key = job.payload["key"]
    ctx.progress(10, "다운로드")
    data = _download(key)
    try:
        check_image(data, max_bytes=settings.AI_IMAGE_MAX_BYTES, max_pixels=settings.AI_IMAGE_MAX_PIXELS)
    except DomainError as refused:
        raise JobFailure(refused.code, refused.message, details=refused.details)
    if ctx.stop_requested:
        raise JobInterrupted()
    ctx.progress(30, "인식")
    left = ctx.seconds_left()
    try:
        # Tesseract is one process: it is killed at the attempt's lease rather than asked to stop.
        result = ocr.recognize(data, tesseract_cmd=settings.AI_TESSERACT_CMD,
                               timeout=max(left, 0.1) if left is not None else None)
    except ocr.OcrTimeout:
        raise JobFailure(INFERENCE_TIMEOUT_CODE, INFERENCE_TIMEOUT_MESSAGE, details={"stage": "인식"})
    except ocr.OcrUnavailable:
        logger.error("ocr_unavailable_on_worker", extra={"job_id": str(job.id)})
        raise JobFailure(*UNAVAILABLE, retryable=True)
    except Exception:
        # A Tesseract error on this image (TesseractError, a decoder error): another attempt reads the same bytes.
        logger.exception("ocr_failed", extra={"job_id": str(job.id)})
        raise JobFailure(*FAILED)
    return {"text": result.text, "confidence": result.confidence, "languages": list(ocr.LANGUAGES)}


def ocr_cleanup(job: Job) -> None:
    key = (job.payload or {}).get("key")
    if isinstance(key, str) and key.startswith("ocr/"):
        ocr_delete_image(key)
