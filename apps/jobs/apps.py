from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class JobsConfig(AppConfig):
    name = "apps.jobs"
    label = "jobs"
    verbose_name = "백그라운드 작업"

    def ready(self):
        from apps.core.models import Tenant, User
        from apps.jobs.models import Job

        # Cache invalidation only (apps/jobs/status_cache.py), for rows saved outside the services: the Django
        # admin, fixtures. A row just created has nothing cached yet.
        for model, receiver in ((Job, _job_row_changed), (User, _user_row_changed), (Tenant, _tenant_row_changed)):
            uid = f"job-status-cache-{model._meta.label_lower}"
            post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}-save")
            post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}-delete")


def _job_row_changed(sender, instance, created=False, **kwargs):
    from apps.jobs.status_cache import job_changed

    if not created:
        job_changed(instance.pk)


def _user_row_changed(sender, instance, created=False, **kwargs):
    from apps.jobs.status_cache import staff_changed

    if not created:
        staff_changed([instance.pk])


def _tenant_row_changed(sender, instance, created=False, **kwargs):
    from apps.jobs.status_cache import tenant_changed

    if not created:
        tenant_changed(instance.pk)
