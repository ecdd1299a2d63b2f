from django.contrib import admin

from apps.integrations.models import QueueMessageRow


@admin.register(QueueMessageRow)
class QueueMessageRowAdmin(admin.ModelAdmin):
    list_display = ["id", "queue", "receive_count", "visible_at", "created_at"]
    list_filter = ["queue"]
    readonly_fields = ["receipt", "created_at"]
