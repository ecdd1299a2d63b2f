from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "테넌트와 사용자"

    def ready(self):
        from apps.core import cors

        cors.connect()
