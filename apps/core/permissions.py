"""Who may call what: tenant members, staff, admins, and the token-protected internal callers."""

import hmac

from django.conf import settings
from rest_framework.permissions import BasePermission


class IsTenantMember(BasePermission):
    """Default for the public API: an authenticated, active user of an active tenant."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.tenant_id and user.tenant.is_active)


class IsTenantStaff(IsTenantMember):
    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_tenant_staff


class IsTenantAdmin(IsTenantMember):
    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_tenant_admin


class StaffWriteAdminDelete(IsTenantStaff):
    """Staff read and write; only owners and admins delete (deletes are the destructive, admin-only step)."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method != "DELETE" or request.user.is_tenant_admin


def secret_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison that fails closed when the server has no secret configured."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class HasInternalWorkerToken(BasePermission):
    """Workers call /api/v1/internal/jobs/... with X-Internal-Token."""

    def has_permission(self, request, view):
        return secret_matches(request.headers.get("X-Internal-Token"), settings.INTERNAL_WORKER_TOKEN)


class HasLambdaInternalKey(BasePermission):
    """The scaling Lambda calls /api/v1/internal/video/... with X-Internal-Key."""

    def has_permission(self, request, view):
        return secret_matches(request.headers.get("X-Internal-Key"), settings.LAMBDA_INTERNAL_API_KEY)
