from django.urls import path

from apps.domains.students import account_apis, apis

urlpatterns = [
    path("students/", apis.StudentListCreateApi.as_view(), name="student-list"),
    path("students/deleted/", apis.StudentDeletedListApi.as_view(), name="student-deleted-list"),
    path("students/deleted_duplicates/", apis.StudentDeletedDuplicatesApi.as_view(),
         name="student-deleted-duplicates"),
    path("students/deleted_duplicates/fix/", apis.StudentDeletedDuplicatesFixApi.as_view(),
         name="student-deleted-duplicates-fix"),
    path("students/<int:pk>/", apis.StudentDetailApi.as_view(), name="student-detail"),
    path("students/<int:pk>/restore/", apis.StudentRestoreApi.as_view(), name="student-restore"),
    path("students/<int:pk>/account/", account_apis.StudentAccountApi.as_view(), name="student-account"),
    path("students/<int:pk>/account/reset/", account_apis.StudentAccountResetApi.as_view(),
         name="student-account-reset"),
    path("students/<int:pk>/account/deactivate/", account_apis.StudentAccountDeactivateApi.as_view(),
         name="student-account-deactivate"),
    path("students/<int:pk>/guardian-consent/", account_apis.GuardianConsentApi.as_view(),
         name="student-guardian-consent"),
]
