import django_filters

from apps.core.filters import FilterSet, IdFilter
from apps.domains.lectures.models import Lecture


class LectureFilter(FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")
    archived = django_filters.BooleanFilter(
        field_name="archived_at", lookup_expr="isnull", exclude=True,
        help_text="true: 보관된 강의만, false 또는 생략: 보관되지 않은 강의만",
    )
    subject = django_filters.CharFilter(lookup_expr="icontains")
    teacher = IdFilter(field_name="teacher_id")

    class Meta:
        model = Lecture
        fields = ["title", "subject", "teacher"]

    def filter_queryset(self, queryset):
        # Archived lectures stay out of the list unless asked for (docs/decisions/0005).
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("archived") is None:
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset
