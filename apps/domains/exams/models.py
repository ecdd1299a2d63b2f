"""Exams graded from OMR answer sheets (ARCHITECTURE §4 AI, exams): the exam, its key and points, the tenant's sheet
settings. Scans, sheets and results come with the grading work."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.core.models import TenantOwnedModel
from apps.domains.lectures.models import Lecture, Session

MAX_QUESTIONS = 100
CHOICE_COUNTS = (4, 5)


def one_point() -> str:
    return "1"


class ExamState(models.TextChoices):
    DRAFT = "DRAFT", "작성 중"
    OPEN = "OPEN", "답안 접수 중"
    PUBLISHED = "PUBLISHED", "결과 공개"


class Exam(TenantOwnedModel):
    """One test of one lecture.

    `answer_key` is [] until staff enter it, then exactly `question_count` entries: the right choice (1..choice_count),
    a sorted list of two or more accepted choices, or null for a void question (everyone gets its points).
    `points` is one decimal string for every question ("3.3") or a list of `question_count` decimal strings: strings,
    so no score is ever off by a float. `revision` counts changes of the key or points once answers were accepted:
    each one regrades the sheets, and a change after PUBLISHED shows the results as revised.
    """

    lecture = models.ForeignKey(Lecture, on_delete=models.PROTECT, related_name="exams")
    # SET_NULL: the session only dates the exam; deleting a session must not fail on, or take, an exam.
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="exams")
    title = models.CharField(max_length=200)
    date = models.DateField()
    question_count = models.PositiveSmallIntegerField()
    choice_count = models.PositiveSmallIntegerField(default=5)
    answer_key = models.JSONField(default=list, blank=True)
    points = models.JSONField(default=one_point)
    state = models.CharField(max_length=10, choices=ExamState.choices, default=ExamState.DRAFT)
    opened_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["tenant", "lecture", "date"], name="exam_tenant_lecture_date_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(question_count__gte=1, question_count__lte=MAX_QUESTIONS),
                                   name="exam_question_count_range"),
            models.CheckConstraint(condition=models.Q(choice_count__in=CHOICE_COUNTS), name="exam_choice_count"),
        ]

    def __str__(self):
        return self.title

    def points_of(self, number: int) -> Decimal:
        """The points of question `number` (1-based)."""
        if isinstance(self.points, list):
            return Decimal(self.points[number - 1])
        return Decimal(self.points)

    @property
    def max_score(self) -> Decimal:
        return sum((self.points_of(n) for n in range(1, self.question_count + 1)), Decimal(0))


class IdentifierSource(models.TextChoices):
    PARENT_PHONE = "PARENT_PHONE", "학부모 전화번호 뒤 8자리"
    STUDENT_PHONE = "STUDENT_PHONE", "학생 전화번호 뒤 8자리"
    STUDENT_NUMBER = "STUDENT_NUMBER", "학원 학생 번호 8자리"


class ExamSettings(TenantOwnedModel):
    """Per-tenant OMR settings: what students write in the sheet's 8-digit identifier block. Absent = defaults."""

    identifier_source = models.CharField(max_length=20, choices=IdentifierSource.choices,
                                         default=IdentifierSource.PARENT_PHONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_exam_settings_tenant")]

    def __str__(self):
        return f"{self.tenant_id}: {self.identifier_source}"
