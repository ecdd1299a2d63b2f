from django.contrib import admin

from apps.core.logging import mask_phone
from apps.integrations.models import OutboxMessage, QueueMessageRow


@admin.register(QueueMessageRow)
class QueueMessageRowAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "receive_count", "visible_at", "created_at"]
    list_filter = ["queue"]
    readonly_fields = ["receipt", "created_at"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """What the embedded provider would have sent; read-only, as a provider's history is."""

    list_display = ["id", "recipient_id", "type", "masked_to", "status_code", "created_at", "delivered_at"]
    list_filter = ["type", "status_code"]
    search_fields = ["recipient_id", "provider_message_id"]

    @admin.display(description="수신번호")
    def masked_to(self, obj: OutboxMessage) -> str:
        return mask_phone(obj.to)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
