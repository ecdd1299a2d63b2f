"""Walks every URL under /api/v1/ so that a future view cannot forget the tenant filter."""

import inspect

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import GenericAPIView
from rest_framework.views import APIView

from apps.core.tenancy import TenantScopedMixin

# Paths that are not tenant-owned data: login, health, worker callbacks (token), signed storage URLs, the
# signed HLS playlists (the token in the path names the video and viewer; players cannot send a login), and the
# messaging provider's delivery-report webhook (a secret in the path; reports name our recipient ids).
ALLOWLIST = ("api/v1/auth/", "api/v1/internal/", "api/v1/storage/", "health", "api/v1/videos/<int:video_id>/hls/",
             "api/v1/messaging/webhooks/")


def walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def tenancy_violation(view_class) -> str | None:
    """None when the view is tenant-safe, else why not."""
    if view_class is None:
        return "not a class-based view"
    if issubclass(view_class, TenantScopedMixin):
        if view_class.get_queryset is not TenantScopedMixin.get_queryset:
            return "overrides get_queryset, bypassing the tenant filter"
        return None
    if not issubclass(view_class, APIView):
        return "not a DRF view"
    if getattr(view_class, "queryset", None) is not None or (
        issubclass(view_class, GenericAPIView) and view_class.get_queryset is not GenericAPIView.get_queryset
    ):
        return "has a queryset without TenantScopedMixin"
    source = inspect.getsource(view_class)
    if "request.user.tenant" not in source and "self.tenant" not in source:
        return "neither TenantScopedMixin nor takes the tenant from request.user"
    return None


def api_v1_views():
    for route, callback in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/") and not route.startswith(ALLOWLIST):
            yield route, getattr(callback, "view_class", getattr(callback, "cls", None))


def test_every_api_v1_view_is_tenant_scoped():
    views = list(api_v1_views())

    problems = {route: why for route, view in views if (why := tenancy_violation(view))}

    assert problems == {}
    assert len(views) >= 13  # the walk found the domain views (students, lectures, sessions, enrollments...)


def test_the_check_catches_a_view_that_forgot_the_tenant():
    from apps.domains.students.models import Student

    class Leaky(GenericAPIView):
        queryset = Student.objects.all()

    class Sneaky(TenantScopedMixin, GenericAPIView):
        def get_queryset(self):
            return Student.objects.all()

    class Plain(APIView):
        def get(self, request):
            return None

    assert tenancy_violation(Leaky) == "has a queryset without TenantScopedMixin"
    assert tenancy_violation(Sneaky) == "overrides get_queryset, bypassing the tenant filter"
    assert tenancy_violation(Plain) == "neither TenantScopedMixin nor takes the tenant from request.user"
