from django.contrib import admin, messages

from apps.core.exceptions import DomainError
from apps.domains.lectures import services
from apps.domains.lectures.models import Lecture, Session

HISTORY_LABELS = {"enrollments": "수강 등록", "attendance": "출결", "sessions_with_records": "기록 있는 차시",
                  "videos": "영상"}


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["order", "title", "date"]


@admin.register(Lecture)
class LectureAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "subject", "tenant", "teacher", "start_date", "end_date", "archived_at"]
    list_filter = ["tenant", "subject", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "subject", "teacher__username"]
    list_select_related = ["tenant", "teacher"]
    raw_id_fields = ["teacher"]
    readonly_fields = ["archived_at"]
    inlines = [SessionInline]
    actions = ["archive_lectures", "restore_lectures", "purge_lectures"]

    def has_delete_permission(self, request, obj=None):
        # The admin's delete would cascade past the services; lectures are archived, and purged by the action.
        return False

    @admin.action(description="선택한 강의 보관")
    def archive_lectures(self, request, queryset):
        for lecture in queryset:
            services.lecture_archive(lecture=lecture)
        self.message_user(request, f"{len(queryset)}개 강의를 보관했습니다.", messages.SUCCESS)

    @admin.action(description="선택한 강의 복원")
    def restore_lectures(self, request, queryset):
        for lecture in queryset:
            services.lecture_restore(lecture=lecture)
        self.message_user(request, f"{len(queryset)}개 강의를 복원했습니다.", messages.SUCCESS)

    @admin.action(description="선택한 보관 강의 완전 삭제 (기록이 없는 강의만)")
    def purge_lectures(self, request, queryset):
        purged = 0
        for lecture in queryset:
            try:
                services.lecture_purge(lecture=lecture)
            except DomainError as exc:
                counts = ", ".join(f"{label} {exc.details[key]}" for key, label in HISTORY_LABELS.items()
                                   if exc.details.get(key))
                self.message_user(request, f"{lecture.title} (#{lecture.id}): {exc.message} {counts}".strip(),
                                  messages.ERROR)
            else:
                purged += 1
        self.message_user(request, f"{purged}개 강의를 완전히 삭제했습니다.", messages.INFO)

    def save_formset(self, request, form, formset, change):
        # Sessions added inline belong to the lecture's tenant.
        for session in formset.save(commit=False):
            session.tenant_id = form.instance.tenant_id
            session.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["id", "lecture", "order", "title", "date", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["title", "lecture__title"]
    list_select_related = ["lecture", "tenant"]
    raw_id_fields = ["lecture"]
