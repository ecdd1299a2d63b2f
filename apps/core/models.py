"""Tenants, users and roles (ARCHITECTURE §6 core): every tenant-owned row hangs off a Tenant."""

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as BaseUserManager
from django.db import models


class TenantPlan(models.TextChoices):
    BASIC = "basic", "기본"
    PREMIUM = "premium", "프리미엄"


class Tenant(models.Model):
    name = models.CharField(max_length=100)
    code = models.SlugField(max_length=50, unique=True)
    is_active = models.BooleanField(default=True)
    # The AI fleet's routing (apps/jobs/tiers.py): a premium academy's AI jobs go to the premium queue.
    plan = models.CharField(max_length=20, choices=TenantPlan.choices, default=TenantPlan.BASIC)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    OWNER = "owner", "원장"
    ADMIN = "admin", "관리자"
    TEACHER = "teacher", "강사"
    STAFF = "staff", "직원"
    STUDENT = "student", "학생"
    PARENT = "parent", "학부모"


ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})
STAFF_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.TEACHER, Role.STAFF})


class UserManager(BaseUserManager):
    def get_queryset(self):
        # Every request's permission check reads user.tenant.is_active, and the student and parent API
        # (apps/domains/me/subject.py) reads the user's own student or parent row: load them with the user, not one
        # query later each.
        return super().get_queryset().select_related("tenant", "student", "parent")


class User(AbstractUser):
    # Operators (superusers) may have no tenant; every academy user has exactly one.
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    # Every token carries the version it was issued under (apps/core/authentication.py); raising it ends them all.
    # db_default too: the Excel import inserts student users with raw SQL that names only the columns it knows.
    token_version = models.PositiveIntegerField(default=0, db_default=0)

    objects = UserManager()

    @property
    def is_tenant_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    @property
    def is_tenant_staff(self) -> bool:
        return self.role in STAFF_ROLES


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned row: the tenant column and the `for_tenant` queryset."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
