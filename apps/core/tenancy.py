"""The one place the tenant filter lives: every tenant-owned view derives from TenantScopedMixin."""

from django.core.exceptions import ImproperlyConfigured


class TenantScopedMixin:
    """Scopes `get_queryset` to the request user's tenant; views implement `get_tenant_queryset(tenant)`.

    A foreign tenant's id is simply absent from the queryset, so it answers 404, never 403.
    """

    @property
    def tenant(self):
        return self.request.user.tenant

    def get_tenant_queryset(self, tenant):
        raise ImproperlyConfigured(f"{type(self).__name__} must implement get_tenant_queryset(tenant)")

    def get_queryset(self):
        # The schema generator introspects views without a user.
        if getattr(self, "swagger_fake_view", False):
            return self.get_tenant_queryset(None).none()
        queryset = self.get_tenant_queryset(self.tenant)
        # Belt and braces: a subclass that forgot to filter still cannot leak another tenant's rows.
        return queryset.filter(tenant=self.tenant)
