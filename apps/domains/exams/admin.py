from django.contrib import admin

from apps.domains.exams.models import Exam, ExamSettings


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "title", "lecture", "date", "question_count", "state", "revision")
    list_filter = ("state",)
    search_fields = ("title",)
    raw_id_fields = ("tenant", "lecture", "session", "created_by")
    readonly_fields = ("opened_at", "published_at", "revision", "created_at", "updated_at")


@admin.register(ExamSettings)
class ExamSettingsAdmin(admin.ModelAdmin):
    list_display = ("tenant", "identifier_source", "updated_at")
    raw_id_fields = ("tenant",)
