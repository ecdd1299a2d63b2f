from django.urls import path

from apps.domains.lectures import apis

urlpatterns = [
    path("lectures/", apis.LectureListCreateApi.as_view(), name="lecture-list"),
    path("lectures/<int:pk>/", apis.LectureDetailApi.as_view(), name="lecture-detail"),
    path("lectures/<int:pk>/restore/", apis.LectureRestoreApi.as_view(), name="lecture-restore"),
    path("lectures/<int:pk>/purge/", apis.LecturePurgeApi.as_view(), name="lecture-purge"),
    path("lectures/<int:lecture_id>/sessions/", apis.LectureSessionListCreateApi.as_view(),
         name="lecture-session-list"),
    path("sessions/<int:pk>/", apis.SessionDetailApi.as_view(), name="session-detail"),
]
