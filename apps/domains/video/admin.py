from django.contrib import admin

from .models import Video

# Staff may rename a video or move it to another lecture or session; everything else belongs to the upload and the
# transcode, and changes only through the guarded transitions in services.py.
EDITABLE_FIELDS = ("title", "lecture", "session")


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "state", "duration_seconds", "error_code", "created_at")
    list_filter = ("tenant", "state")
    search_fields = ("title", "filename")
    raw_id_fields = ("tenant", "lecture", "session", "created_by")
    readonly_fields = tuple(f.name for f in Video._meta.fields if f.name not in EDITABLE_FIELDS)

    def has_add_permission(self, request):
        # A video row without its upload is a dead entry: videos start with POST /api/v1/videos/.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting the row here would leave its raw and HLS objects in the bucket: DELETE /api/v1/videos/<id>/
        # cancels the transcode and removes the objects first.
        return False
