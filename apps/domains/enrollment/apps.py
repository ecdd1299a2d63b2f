from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "apps.domains.enrollment"
    label = "enrollment"
