from django.urls import path

from apps.domains.exams import apis, apis_scans

urlpatterns = [
    path("exams/", apis.ExamListCreateApi.as_view(), name="exam-list"),
    path("exams/settings/", apis.ExamSettingsApi.as_view(), name="exam-settings"),
    path("exams/<int:pk>/", apis.ExamDetailApi.as_view(), name="exam-detail"),
    path("exams/<int:pk>/open/", apis.ExamOpenApi.as_view(), name="exam-open"),
    path("exams/<int:pk>/omr-sheet/", apis.ExamSheetPdfApi.as_view(), name="exam-omr-sheet"),
    path("exams/<int:pk>/omr-sheet/layout/", apis.ExamSheetLayoutApi.as_view(), name="exam-omr-sheet-layout"),
    path("exams/<int:pk>/scans/", apis_scans.ExamScanListCreateApi.as_view(), name="exam-scans"),
]
