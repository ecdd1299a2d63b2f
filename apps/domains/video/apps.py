from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "apps.domains.video"
    label = "video"
    verbose_name = "강의 영상"
