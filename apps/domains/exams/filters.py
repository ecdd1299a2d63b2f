import django_filters

from apps.core.filters import FilterSet, IdFilter
from apps.domains.exams.models import Exam, ExamState


class ExamFilter(FilterSet):
    lecture = IdFilter(field_name="lecture_id")
    session = IdFilter(field_name="session_id")
    state = django_filters.ChoiceFilter(choices=ExamState.choices)
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Exam
        fields = ["lecture", "session", "state"]
