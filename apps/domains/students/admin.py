from django.contrib import admin

from apps.domains.students.models import Student


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
    search_fields = ["name", "parent_phone", "phone", "school"]
    list_select_related = ["tenant"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
