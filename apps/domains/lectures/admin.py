from django.contrib import admin

from apps.domains.lectures.models import Lecture, Session


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["order", "title", "date"]


@admin.register(Lecture)
class LectureAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "subject", "tenant", "teacher", "start_date", "end_date"]
    list_filter = ["tenant", "subject"]
    search_fields = ["title", "subject", "teacher__username"]
    list_select_related = ["tenant", "teacher"]
    raw_id_fields = ["teacher"]
    inlines = [SessionInline]

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
