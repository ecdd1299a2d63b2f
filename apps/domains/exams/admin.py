from django.contrib import admin

from apps.domains.exams.models import Exam, ExamSettings, ExamState


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "lecture", "date", "question_count", "state", "revision")
    list_filter = ("tenant", "state")
    search_fields = ("title", "lecture__title")
    list_select_related = ("tenant", "lecture")
    raw_id_fields = ("tenant", "lecture", "session", "created_by")
    readonly_fields = ("state", "opened_at", "published_at", "revision", "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        # As in the API: an OPEN or PUBLISHED exam holds students' answers.
        return super().has_delete_permission(request, obj) and (obj is None or obj.state == ExamState.DRAFT)


@admin.register(ExamSettings)
class ExamSettingsAdmin(admin.ModelAdmin):
    list_display = ("tenant", "identifier_source", "updated_at")
    list_filter = ("tenant", "identifier_source")
    search_fields = ("tenant__name", "tenant__code")
    raw_id_fields = ("tenant",)
