from django.contrib import admin

from .models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "state", "duration_seconds", "error_code", "created_at")
    list_filter = ("tenant", "state")
    search_fields = ("title", "filename")
    raw_id_fields = ("tenant", "lecture", "session", "created_by")
    readonly_fields = ("raw_key", "hls_prefix", "upload_id", "renditions", "current_job_id")
