import django_filters

from apps.domains.enrollment.models import Enrollment, EnrollmentStatus


class EnrollmentFilter(django_filters.FilterSet):
    lecture = django_filters.NumberFilter(field_name="lecture_id")
    student = django_filters.NumberFilter(field_name="student_id")
    status = django_filters.ChoiceFilter(choices=EnrollmentStatus.choices)

    class Meta:
        model = Enrollment
        fields = ["lecture", "student", "status"]
