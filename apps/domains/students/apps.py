from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "apps.domains.students"
    label = "students"
