"""Refusals of the AI endpoints (ARCHITECTURE §4 AI): one stable code and a Korean message each."""

from apps.core.exceptions import DomainError, ServiceUnavailableError


class ImageInvalidError(DomainError):
    """The upload is not an image the AI endpoints take; nothing was stored."""

    default_code = "AI_IMAGE_INVALID"
    default_message = "이미지를 읽을 수 없습니다. JPEG 또는 PNG 이미지를 올려 주세요."


class ImageTooLargeError(ImageInvalidError):
    status_code = 413
    default_code = "AI_IMAGE_TOO_LARGE"
    default_message = "이미지 파일이 너무 큽니다."


class ImageTooManyPixelsError(ImageInvalidError):
    default_code = "AI_IMAGE_TOO_MANY_PIXELS"
    default_message = "이미지의 해상도가 너무 큽니다. 크기를 줄여서 다시 올려 주세요."


class OcrUnavailableError(ServiceUnavailableError):
    default_code = "OCR_UNAVAILABLE"
    default_message = ("글자 인식(OCR)을 사용할 수 없습니다. 서버에 Tesseract와 한국어 데이터(kor)가 설치되어 있지 "
                       "않습니다.")


class AiStorageUnavailableError(ServiceUnavailableError):
    default_code = "AI_STORAGE_UNAVAILABLE"
    default_message = "파일 저장소에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


class AiEnqueueFailedError(ServiceUnavailableError):
    default_code = "AI_ENQUEUE_FAILED"
    default_message = "작업을 접수했지만 대기열에 넣지 못했습니다. 자동으로 다시 보냅니다."
