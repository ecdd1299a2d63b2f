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
    # Optional; decides with school_type whether the student's login needs a guardian's consent (consent.py).
    birth_date = models.DateField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="student"
    )
    # Set when staff deactivated the student's login; cleared by an account reset. A login that is inactive without
    # it is waiting for a guardian's consent (apps/domains/students/accounts.py).
    account_deactivated_at = models.DateTimeField(null=True, blank=True)
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


class ConsentMethod(models.TextChoices):
    WRITTEN = "WRITTEN", "서면"
    PHONE = "PHONE", "전화"
    SMS_VERIFICATION = "SMS_VERIFICATION", "문자 인증"
    EMAIL = "EMAIL", "이메일"
    VISIT = "VISIT", "방문"


class GuardianRelation(models.TextChoices):
    MOTHER = "MOTHER", "모"
    FATHER = "FATHER", "부"
    GRANDPARENT = "GRANDPARENT", "조부모"
    LEGAL_GUARDIAN = "LEGAL_GUARDIAN", "법정대리인"
    OTHER = "OTHER", "기타"


class GuardianConsent(TenantOwnedModel):
    """A guardian's consent to a child's login (개인정보 보호법 §22-2): who, how and when, as staff recorded it.

    At most one live (not withdrawn) consent per student; a withdrawn one stays as the record of what happened.
    """

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_consents")
    guardian_name = models.CharField(max_length=50)
    relation = models.CharField(max_length=20, choices=GuardianRelation.choices)
    method = models.CharField(max_length=20, choices=ConsentMethod.choices)
    consented_at = models.DateTimeField()
    memo = models.CharField(max_length=500, blank=True, default="")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["student"], condition=Q(withdrawn_at__isnull=True),
                                    name="uniq_live_guardian_consent"),
        ]

    def __str__(self):
        return f"guardian consent {self.id} of student {self.student_id}"
