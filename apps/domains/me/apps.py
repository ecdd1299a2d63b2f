from django.apps import AppConfig


class MeConfig(AppConfig):
    name = "apps.domains.me"
    label = "me"
