"""Students of an academy (ARCHITECTURE §6 domains/students): soft-deleted, unique among the living."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TenantOwnedModel, TenantQuerySet


class SchoolType(models.TextChoices):
    ELEMENTARY = "ELEMENTARY", "초등"
    MIDDLE = "MIDDLE", "중등"
    HIGH = "HIGH", "고등"


class Gender(models.TextChoices):
    MALE = "M", "남"
    FEMALE = "F", "여"


class StudentQuerySet(TenantQuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class Student(TenantOwnedModel):
    name = models.CharField(max_length=50)
    parent_phone = models.CharField(max_length=11, help_text="010으로 시작하는 11자리")
    phone = models.CharField(max_length=11, blank=True, default="")
    school = models.CharField(max_length=100, blank=True, default="")
    school_type = models.CharField(max_length=12, choices=SchoolType.choices, blank=True, default="")
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    # Set for an upcoming grade ("예비 고2"): the grade starts on this 1 March and is shown as 예비 until then.
    grade_starts_on = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True, default="")
    # The academy's own 8-digit number; the OMR identifier when the tenant's ExamSettings chooses STUDENT_NUMBER.
    # db_default too: the Excel import inserts students with raw SQL that names only the columns it knows.
    student_number = models.CharField(max_length=8, blank=True, default="", db_default="")
    memo = models.TextField(blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="student"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "parent_phone"],
                condition=Q(deleted_at__isnull=True),
                name="uniq_live_student_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["tenant", "student_number"],
                condition=Q(deleted_at__isnull=True) & ~Q(student_number=""),
                name="uniq_live_student_number_per_tenant",
            ),
            models.CheckConstraint(
                condition=Q(student_number="") | Q(student_number__regex=r"^[0-9]{8}$"),
                name="student_number_8_digits",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "name", "parent_phone"], name="student_identity_idx"),
            models.Index(fields=["tenant", "deleted_at"], name="student_tenant_deleted_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
