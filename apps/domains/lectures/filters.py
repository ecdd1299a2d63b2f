import django_filters

from apps.core.filters import FilterSet, IdFilter
from apps.domains.lectures.models import Lecture


class LectureFilter(FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")
    subject = django_filters.CharFilter(lookup_expr="icontains")
    teacher = IdFilter(field_name="teacher_id")

    class Meta:
        model = Lecture
        fields = ["title", "subject", "teacher"]
