from django.urls import path

from apps.domains.students import apis

urlpatterns = [
    path("students/", apis.StudentListCreateApi.as_view(), name="student-list"),
    path("students/deleted/", apis.StudentDeletedListApi.as_view(), name="student-deleted-list"),
    path("students/deleted_duplicates/", apis.StudentDeletedDuplicatesApi.as_view(),
         name="student-deleted-duplicates"),
    path("students/deleted_duplicates/fix/", apis.StudentDeletedDuplicatesFixApi.as_view(),
         name="student-deleted-duplicates-fix"),
    path("students/<int:pk>/", apis.StudentDetailApi.as_view(), name="student-detail"),
    path("students/<int:pk>/restore/", apis.StudentRestoreApi.as_view(), name="student-restore"),
]
