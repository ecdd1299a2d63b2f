import django_filters

from apps.domains.lectures.models import Lecture


class LectureFilter(django_filters.FilterSet):
    title = django_filters.CharFilter(lookup_expr="icontains")
    subject = django_filters.CharFilter(lookup_expr="icontains")
    teacher = django_filters.NumberFilter(field_name="teacher_id")

    class Meta:
        model = Lecture
        fields = ["title", "subject", "teacher"]
