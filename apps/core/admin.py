from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.core.models import Tenant, User
from apps.core.tokens import user_tokens_revoke


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Shown in the admin, never added, changed or deleted there: rows whose changes must go through their service
    (a ledger, a consent that (de)activates a login, a parent whose login would be left behind)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Changes after which the user's tokens must not go on working (apps/core/authentication.py).
TOKEN_ENDING_FIELDS = frozenset({"is_active", "role", "tenant", "password"})


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "code", "plan", "is_active", "created_at"]
    list_filter = ["is_active", "plan"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "tenant", "role", "is_active", "is_staff"]
    list_filter = ["tenant", "role", "is_active"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("학원", {"fields": ("tenant", "role")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("학원", {"fields": ("tenant", "role")}))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and TOKEN_ENDING_FIELDS & set(form.changed_data):
            user_tokens_revoke(user_ids=[obj.pk])

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the new password was saved
            user_tokens_revoke(user_ids=[int(id)])
        return response
