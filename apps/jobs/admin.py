from django.contrib import admin

from apps.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "kind", "state", "progress", "attempts", "created_at", "finished_at"]
    list_filter = ["tenant", "state", "kind"]
    search_fields = ["id", "external_id", "idempotency_key"]
    # State changes go through the guarded transitions, never through a form.
    readonly_fields = [f.name for f in Job._meta.fields]
