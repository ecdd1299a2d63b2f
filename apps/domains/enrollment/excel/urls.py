from django.urls import path

from apps.domains.enrollment.excel import apis

urlpatterns = [
    path("enrollments/lecture_enroll_from_excel/", apis.LectureEnrollFromExcelApi.as_view(),
         name="enrollment-lecture-enroll-from-excel"),
    path("enrollments/excel_template/", apis.ExcelTemplateApi.as_view(), name="enrollment-excel-template"),
    path("enrollments/export/", apis.EnrollmentExportApi.as_view(), name="enrollment-export"),
    path("students/import_from_excel/", apis.StudentImportFromExcelApi.as_view(), name="student-import-from-excel"),
]
