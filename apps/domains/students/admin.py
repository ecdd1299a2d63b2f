from django.contrib import admin
from django.db import transaction

from apps.core.admin import ReadOnlyModelAdmin
from apps.domains.students.models import GuardianConsent, Student
from apps.domains.students.services import student_hard_delete


class DeletedFilter(admin.SimpleListFilter):
    title = "삭제 여부"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "재원"), ("yes", "삭제됨")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "tenant", "school", "grade", "deleted_at", "created_at"]
    list_filter = ["tenant", DeletedFilter, "school_type", "grade"]
    search_fields = ["name", "parent_phone", "phone", "school", "student_number"]
    list_select_related = ["tenant"]
    raw_id_fields = ["user"]
    # Deactivating a login goes through the API (it ends the student's tokens): shown here, not edited.
    readonly_fields = ["account_deactivated_at", "created_at", "updated_at"]

    # Deleting here is the same permanent delete as the repair commands: the student's login goes too.
    def delete_model(self, request, obj):
        with transaction.atomic():
            student_hard_delete(student_ids=[obj.id])

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            student_hard_delete(student_ids=list(queryset.values_list("id", flat=True)))


@admin.register(GuardianConsent)
class GuardianConsentAdmin(ReadOnlyModelAdmin):
    """Read-only: consents are recorded and withdrawn through the API, which also (de)activates the login."""

    list_display = ["id", "student", "tenant", "guardian_name", "relation", "method", "consented_at", "withdrawn_at"]
    list_filter = ["tenant", "method", "relation"]
    list_select_related = ["student", "tenant"]
    search_fields = ["guardian_name", "student__name"]
