from django.urls import path

from apps.domains.enrollment import apis

urlpatterns = [
    path("enrollments/", apis.EnrollmentListCreateApi.as_view(), name="enrollment-list"),
    path("enrollments/<int:pk>/", apis.EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("sessions/<int:pk>/attendance/", apis.SessionAttendanceApi.as_view(), name="session-attendance"),
    path("sessions/<int:pk>/roll/", apis.SessionRollApi.as_view(), name="session-roll"),
    path("students/<int:pk>/attendance/", apis.StudentAttendanceHistoryApi.as_view(), name="student-attendance"),
]
