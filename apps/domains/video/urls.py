from django.urls import path

from apps.domains.video import apis, me_apis

urlpatterns = [
    path("videos/", apis.VideoListCreateApi.as_view(), name="video-list"),
    path("videos/<int:pk>/", apis.VideoDetailApi.as_view(), name="video-detail"),
    path("videos/<int:pk>/upload_parts/", apis.VideoUploadPartsApi.as_view(), name="video-upload-parts"),
    path("videos/<int:pk>/upload_abort/", apis.VideoUploadAbortApi.as_view(), name="video-upload-abort"),
    path("videos/<int:pk>/upload_complete/", apis.VideoUploadCompleteApi.as_view(), name="video-upload-complete"),
    path("videos/<int:pk>/retry/", apis.VideoRetryApi.as_view(), name="video-retry"),
    path("videos/<int:pk>/playback/", apis.VideoPlaybackApi.as_view(), name="video-playback"),
    path("videos/<int:pk>/viewers/", me_apis.VideoViewersApi.as_view(), name="video-viewers"),
    path("videos/<int:video_id>/hls/<str:token>/master.m3u8", apis.VideoHlsMasterApi.as_view(),
         name="video-hls-master"),
    path("videos/<int:video_id>/hls/<str:token>/<str:rendition>/<str:playlist>", apis.VideoHlsVariantApi.as_view(),
         name="video-hls-variant"),
    path("internal/video/backlog-count/", apis.VideoBacklogCountApi.as_view(), name="internal-video-backlog-count"),
]
