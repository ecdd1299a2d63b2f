"""Issue 14: the student's and parent's own API under /api/v1/me/."""

from django.urls import path

from apps.domains.me import apis
from apps.domains.video import me_apis as video_me_apis

# Who am I, lectures, calendar, attendance, exam results, messages (apps/domains/me/apis.py).
urlpatterns = [
    path("me/", apis.MeRootApi.as_view(), name="me"),
    path("me/lectures/", apis.MeLectureListApi.as_view(), name="me-lectures"),
    path("me/sessions/", apis.MeSessionListApi.as_view(), name="me-sessions"),
    path("me/attendance/", apis.MeAttendanceApi.as_view(), name="me-attendance"),
    path("me/exams/", apis.MeExamListApi.as_view(), name="me-exams"),
    path("me/exams/<int:exam_id>/", apis.MeExamDetailApi.as_view(), name="me-exam-detail"),
    path("me/messages/", apis.MeMessageListApi.as_view(), name="me-messages"),
]

# Videos and watch progress (apps/domains/video/me_apis.py).
urlpatterns += [
    path("me/videos/", video_me_apis.MeVideoListApi.as_view(), name="me-video-list"),
    path("me/videos/<int:pk>/progress/", video_me_apis.MeVideoProgressApi.as_view(), name="me-video-progress"),
]
