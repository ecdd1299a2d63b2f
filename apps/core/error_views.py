"""Every answer under /api/ is the JSON error shape of the DRF views, whatever produced it.

The handlers serve DEBUG=False: Django calls them for an unknown URL, a path whose id its converter refused, a body
too big to read, an uncaught exception. With DEBUG=True Django bypasses them for its technical pages, so
apps.core.middleware.ApiErrorMiddleware (outermost) turns any error answer under /api/ that is not JSON into it.
"""

from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf

from apps.core.exceptions import DRF_ERRORS, DomainError, PayloadTooLargeError, domain_error_for, error_body

API_PREFIX = "/api/"

# Answers for errors whose cause is known only by their status (a technical page, a bare 405, a CSRF refusal): the
# codes and messages the DRF views answer for the same status (apps.core.exceptions).
_BY_STATUS = {
    400: (DomainError.default_code, DomainError.default_message),
    401: DRF_ERRORS[drf.NotAuthenticated],
    403: DRF_ERRORS[drf.PermissionDenied],
    404: ("NOT_FOUND", "요청한 주소를 찾을 수 없습니다."),
    405: DRF_ERRORS[drf.MethodNotAllowed],
    413: (PayloadTooLargeError.default_code, PayloadTooLargeError.default_message),
    500: ("SERVER_ERROR", "서버 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."),
}


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int) -> JsonResponse:
    code, message = _BY_STATUS.get(status, ("ERROR", "요청을 처리할 수 없습니다."))
    return JsonResponse(error_body(code, message), status=status)


def _domain_error_response(error: DomainError) -> JsonResponse:
    return JsonResponse(error_body(error.code, error.message, error.details), status=error.status_code)


def bad_request(request, exception=None):
    if is_api(request):
        return _domain_error_response(domain_error_for(exception))
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api(request):
        return error_response(403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if is_api(request):
        return error_response(404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return error_response(500)
    return defaults.server_error(request)
