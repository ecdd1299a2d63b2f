import django_filters

from apps.core.filters import FilterSet, IdFilter
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus


class EnrollmentFilter(FilterSet):
    lecture = IdFilter(field_name="lecture_id")
    student = IdFilter(field_name="student_id")
    status = django_filters.ChoiceFilter(choices=EnrollmentStatus.choices)

    class Meta:
        model = Enrollment
        fields = ["lecture", "student", "status"]
