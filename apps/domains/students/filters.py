import django_filters

from apps.core.filters import FilterSet, IdFilter, IntegerFilter
from apps.domains.students.models import SchoolType, Student


class StudentFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    school = django_filters.CharFilter(lookup_expr="icontains")
    grade = IntegerFilter()
    school_type = django_filters.ChoiceFilter(choices=SchoolType.choices)
    # uniq_enrollment allows one row per (lecture, student): the join cannot repeat a student, no DISTINCT needed.
    lecture = IdFilter(field_name="enrollments__lecture_id", label="수강 중인 강의 id")

    class Meta:
        model = Student
        fields = ["name", "school", "grade", "school_type", "lecture"]
