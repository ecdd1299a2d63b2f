"""Parent accounts in the admin: looked at, not edited (invites, links and deactivation go through the services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin
from apps.domains.accounts.models import Parent, ParentInvite, ParentStudent


@admin.register(Parent)
class ParentAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "tenant", "masked_phone", "name", "activated_at", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["phone", "name", "user__username", "tenant__code"]
    list_select_related = ["tenant"]

    @admin.display(description="phone")
    def masked_phone(self, parent):
        return f"{parent.phone[:3]}****{parent.phone[-4:]}"


@admin.register(ParentStudent)
class ParentStudentAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "tenant", "parent", "student", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["parent__phone", "student__name", "tenant__code"]
    list_select_related = ["tenant", "parent", "student"]


@admin.register(ParentInvite)
class ParentInviteAdmin(ReadOnlyModelAdmin):
    # The code's hash is never shown: it is of no use to anyone reading the admin, and one less thing to leak.
    exclude = ["code_hash"]
    list_display = ["id", "tenant", "parent", "expires_at", "failed_attempts", "used_at", "voided_at", "void_reason",
                    "send", "created_at"]
    list_filter = ["tenant", "void_reason"]
    search_fields = ["parent__phone", "tenant__code"]
    list_select_related = ["tenant", "parent"]
