from django.urls import path

from apps.domains.enrollment import apis

urlpatterns = [
    path("enrollments/", apis.EnrollmentListCreateApi.as_view(), name="enrollment-list"),
    path("enrollments/<int:pk>/", apis.EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("sessions/<int:pk>/attendance/", apis.SessionAttendanceApi.as_view(), name="session-attendance"),
]
