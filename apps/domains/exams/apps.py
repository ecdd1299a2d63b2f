from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "apps.domains.exams"
    label = "exams"
