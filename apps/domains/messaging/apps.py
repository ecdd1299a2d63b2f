from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "apps.domains.messaging"
    label = "messaging"
    verbose_name = "문자"
