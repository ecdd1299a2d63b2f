"""Issue 14: the student's and parent's own API under /api/v1/me/."""

from django.urls import path

from apps.domains.video import me_apis as video_me_apis

urlpatterns: list = []

# Videos and watch progress (apps/domains/video/me_apis.py).
urlpatterns += [
    path("me/videos/", video_me_apis.MeVideoListApi.as_view(), name="me-video-list"),
    path("me/videos/<int:pk>/progress/", video_me_apis.MeVideoProgressApi.as_view(), name="me-video-progress"),
]
