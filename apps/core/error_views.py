"""Django-level 404/500 for /api/ paths answer the same JSON error shape as DRF views."""

from django.http import JsonResponse
from django.views import defaults

from apps.core.exceptions import error_body


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("NOT_FOUND", "요청한 주소를 찾을 수 없습니다."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(error_body("SERVER_ERROR", "서버 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."),
                            status=500)
    return defaults.server_error(request)
