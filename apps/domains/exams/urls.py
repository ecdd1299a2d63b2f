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

# Review, results, statistics, publishing and the results export (apis_results).
from apps.domains.exams import apis_results  # noqa: E402

urlpatterns += [
    path("exams/<int:pk>/sheets/", apis_results.SheetListApi.as_view(), name="exam-sheet-list"),
    path("exams/<int:pk>/sheets/<int:sheet_id>/", apis_results.SheetDetailApi.as_view(), name="exam-sheet-detail"),
    path("exams/<int:pk>/results/", apis_results.ResultsApi.as_view(), name="exam-results"),
    path("exams/<int:pk>/results/export/", apis_results.ResultsExportApi.as_view(), name="exam-results-export"),
    path("exams/<int:pk>/stats/", apis_results.StatsApi.as_view(), name="exam-stats"),
    path("exams/<int:pk>/publish/", apis_results.PublishApi.as_view(), name="exam-publish"),
]
