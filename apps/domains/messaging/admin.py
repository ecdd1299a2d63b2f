from django.contrib import admin

from apps.domains.messaging.models import CreditEntry, MessagingProfile


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: a sender number changed past the service would keep its verification, and the
    ledger is append-only (top-ups go through `manage.py grant_message_credit`)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MessagingProfile)
class MessagingProfileAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "sender_number", "sender_verified_at", "opt_out_number", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["tenant__code", "tenant__name", "sender_number"]
    list_select_related = ["tenant"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "tenant", "kind", "amount", "reference", "memo"]
    list_filter = ["tenant", "kind"]
    search_fields = ["reference", "memo", "tenant__code"]
    list_select_related = ["tenant"]
