"""One domain error type and one API error shape: {"code", "message", "details"}."""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A refusal the caller can act on: a stable machine `code` and a Korean `message` for people."""

    status_code = 400
    default_code = "BAD_REQUEST"
    default_message = "요청을 처리할 수 없습니다."

    def __init__(self, code: str | None = None, message: str | None = None, *, details: Any = None,
                 status_code: int | None = None):
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details = details or {}
        if status_code is not None:
            self.status_code = status_code
        super().__init__(f"{self.code}: {self.message}")


class NotFoundError(DomainError):
    status_code = 404
    default_code = "NOT_FOUND"
    default_message = "대상을 찾을 수 없습니다."


class ConflictError(DomainError):
    status_code = 409
    default_code = "CONFLICT"
    default_message = "현재 상태에서는 처리할 수 없습니다."


class ForbiddenError(DomainError):
    status_code = 403
    default_code = "PERMISSION_DENIED"
    default_message = "권한이 없습니다."


class PayloadTooLargeError(DomainError):
    status_code = 413
    default_code = "PAYLOAD_TOO_LARGE"
    default_message = "요청 본문이 너무 큽니다."


class ServiceUnavailableError(DomainError):
    status_code = 503
    default_code = "SERVICE_UNAVAILABLE"
    default_message = "일시적으로 처리할 수 없습니다. 잠시 후 다시 시도해 주세요."


DRF_ERRORS: dict[type, tuple[str, str]] = {
    drf.NotAuthenticated: ("AUTHENTICATION_REQUIRED", "로그인이 필요합니다."),
    drf.AuthenticationFailed: ("AUTHENTICATION_FAILED", "인증에 실패했습니다."),
    drf.PermissionDenied: ("PERMISSION_DENIED", "권한이 없습니다."),
    drf.NotFound: ("NOT_FOUND", "대상을 찾을 수 없습니다."),
    drf.MethodNotAllowed: ("METHOD_NOT_ALLOWED", "허용되지 않은 요청 방식입니다."),
    drf.NotAcceptable: ("NOT_ACCEPTABLE", "지원하지 않는 응답 형식입니다."),
    drf.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", "지원하지 않는 요청 형식입니다."),
    drf.Throttled: ("THROTTLED", "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."),
    drf.ParseError: ("PARSE_ERROR", "요청 본문을 해석할 수 없습니다."),
    drf.ValidationError: ("VALIDATION_ERROR", "입력값이 올바르지 않습니다."),
}


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"code": code, "message": message, "details": details or {}}


def domain_error_for(exc: SuspiciousOperation) -> DomainError:
    """Django's refusals of a request body (raised while reading it, in a view or a middleware) as domain errors.

    Django answers them with a bare 400 page; the caller deserves to know which limit it hit. File parts of a
    multipart upload are not counted by DATA_UPLOAD_MAX_MEMORY_SIZE: uploads keep their own limits and codes.
    """
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLargeError(
            message="요청 본문이 너무 큽니다. 파일이 아닌 본문은 최대 "
                    f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}바이트까지 보낼 수 있습니다.",
            details={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, TooManyFieldsSent):
        return DomainError("TOO_MANY_FIELDS", "요청의 입력 항목이 너무 많습니다.",
                           details={"max_fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})
    if isinstance(exc, TooManyFilesSent):
        return DomainError("TOO_MANY_FILES", "요청의 파일 수가 너무 많습니다.",
                           details={"max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
    return DomainError()


def api_exception_handler(exc, context):
    request = context.get("request")
    if request is not None:
        # Errors are JSON whatever renderer the view negotiated for its success (an event stream, an xlsx file).
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
    if isinstance(exc, SuspiciousOperation):
        # The security log Django would have written, had the exception reached it.
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
        exc = domain_error_for(exc)
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code, message = next(
        (pair for cls, pair in DRF_ERRORS.items() if isinstance(exc, cls)), ("ERROR", "요청을 처리할 수 없습니다.")
    )
    # A DRF exception of ours may say more than its class's message (apps/core/authentication.py SessionEndedError).
    message = getattr(exc, "korean_message", None) or message
    details = exc.detail if isinstance(exc, drf.ValidationError) else {}
    response.data = error_body(code, message, details)
    return response
