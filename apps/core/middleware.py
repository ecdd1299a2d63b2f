"""Request-wide concerns: the Host pinned for internal callers, JSON errors under /api/, slash redirects.

Internal callers (workers, Lambda) and health probes reach the API by private IP with whatever Host header they send.
Internal paths are authenticated by token, not by host, and /health reveals nothing worth a host check, so the Host
is pinned to INTERNAL_API_HOST for them alone: the public API keeps its strict ALLOWED_HOSTS.
"""

from django.conf import settings
from django.middleware.common import CommonMiddleware

from apps.core.error_views import error_response, is_api

INTERNAL_PREFIX = "/api/v1/internal/"
# Load balancer target checks and the API image's HEALTHCHECK call by address (docs/deploy.md).
HEALTH_PATHS = frozenset({"/health", "/health/"})


class InternalHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(INTERNAL_PREFIX) or request.path in HEALTH_PATHS:
            host = settings.INTERNAL_API_HOST
            request.META["HTTP_HOST"] = host
            request.META.pop("HTTP_X_FORWARDED_HOST", None)
            if host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
                # get_host() validates against ALLOWED_HOSTS; the pinned internal name is always valid.
                request.get_host = lambda: host
        return self.get_response(request)


class ApiErrorMiddleware:
    """Outermost: an error answer under /api/ that is not JSON (Django's HTML or empty body) becomes the error shape.

    Catches what no handler sees: DEBUG's technical 404/500 pages, a plain Django view's bare 405, a CSRF refusal.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not is_api(request) or _is_json(response):
            return response
        replacement = error_response(response.status_code)
        if "Allow" in response:
            replacement["Allow"] = response["Allow"]
        return replacement


def _is_json(response) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


class ApiCommonMiddleware(CommonMiddleware):
    """CommonMiddleware that never redirects an API write to the URL with the trailing slash.

    A client follows a 301 with a GET, so a redirected POST would list instead of create, and with DEBUG on Django
    raises (a 500) rather than redirect a body: under /api/ such a write is a 404 like any unknown URL.
    """

    def should_redirect_with_slash(self, request):
        if is_api(request) and request.method not in ("GET", "HEAD"):
            return False
        return super().should_redirect_with_slash(request)
