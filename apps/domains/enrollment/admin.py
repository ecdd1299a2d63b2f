from django.contrib import admin

from apps.domains.enrollment.models import Attendance, Enrollment, SessionEnrollment


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["id", "student", "lecture", "status", "tenant", "enrolled_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["student__name", "student__parent_phone", "lecture__title"]
    list_select_related = ["student", "lecture", "tenant"]
    raw_id_fields = ["student", "lecture"]


@admin.register(SessionEnrollment)
class SessionEnrollmentAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "enrollment", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["enrollment__student__name", "session__title", "session__lecture__title"]
    list_select_related = ["session", "enrollment", "tenant"]
    raw_id_fields = ["session", "enrollment"]


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "enrollment", "status", "tenant", "updated_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["enrollment__student__name", "session__title", "session__lecture__title"]
    list_select_related = ["session", "enrollment", "tenant"]
    raw_id_fields = ["session", "enrollment"]
