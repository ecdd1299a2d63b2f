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
    # The revision the results were last published at: results show as revised while `revision` is past it.
    published_revision = models.PositiveIntegerField(null=True, blank=True)
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


class StudentResultDisplay(models.TextChoices):
    """What a student or parent sees besides the score (/api/v1/me/exams/, docs/decisions/0024)."""

    RANK = "RANK", "점수와 석차"
    PERCENTILE = "PERCENTILE", "점수와 백분위"
    SCORE_ONLY = "SCORE_ONLY", "점수만"


class ExamSettings(TenantOwnedModel):
    """Per-tenant exam settings: what students write in the sheet's 8-digit identifier block, and what students and
    parents see of a result besides the score. Absent = defaults."""

    identifier_source = models.CharField(max_length=20, choices=IdentifierSource.choices,
                                         default=IdentifierSource.PARENT_PHONE)
    student_result_display = models.CharField(max_length=12, choices=StudentResultDisplay.choices,
                                              default=StudentResultDisplay.PERCENTILE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_exam_settings_tenant")]

    def __str__(self):
        return f"{self.tenant_id}: {self.identifier_source}"


# ---------------------------------------------------------------------------------------------------- scans and sheets

class ScanState(models.TextChoices):
    QUEUED = "QUEUED", "대기"
    GRADING = "GRADING", "채점 중"
    DONE = "DONE", "완료"
    FAILED = "FAILED", "실패"


class ExamScan(TenantOwnedModel):
    """One upload of scans or photos (one or more images, or a multi-page PDF) graded by one `omr_grading` job.

    The files live in the AI bucket under `files` ([{"key", "content_type", "name", "size", "pages"}]); they are minors'
    handwriting, so they (and the aligned page images) are deleted after EXAM_SCAN_RETENTION_DAYS by a periodic task
    (`purged_at`)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="scans")
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    files = models.JSONField(default=list)
    page_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=ScanState.choices, default=ScanState.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"scan {self.id} of exam {self.exam_id} ({self.state})"


class SheetStatus(models.TextChoices):
    GRADED = "GRADED", "채점 완료"
    REVIEW = "REVIEW", "검토 필요"
    UNREADABLE = "UNREADABLE", "읽을 수 없음"


class ExamSheet(TenantOwnedModel):
    """One graded page: recorded as soon as the page is graded, so a retried job grades only the pages left
    (unique per scan and page). A teacher's review (student, answers) overrides what was read and is kept on
    regrades; the score is recomputed from `answers` whenever the key or points change."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="sheets")
    scan = models.ForeignKey(ExamScan, on_delete=models.CASCADE, related_name="sheets")
    page_number = models.PositiveIntegerField()  # 1-based over the scan's files and pages, in upload order
    status = models.CharField(max_length=12, choices=SheetStatus.choices)
    review_reasons = models.JSONField(default=list, blank=True)
    student = models.ForeignKey("students.Student", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="exam_sheets")
    identifier = models.CharField(max_length=8, blank=True)  # as read, "" when any digit was not exactly one mark
    # Per question, the choices as read (or as set by review): [[2], [], [1, 3], …]; `states` the reader's
    # ONE/BLANK/MULTIPLE/UNCERTAIN per question; `fills` the per-bubble fill values for the review overlay.
    answers = models.JSONField(default=list, blank=True)
    states = models.JSONField(default=list, blank=True)
    fills = models.JSONField(default=dict, blank=True)
    alignment_quality = models.FloatField(null=True, blank=True)
    aligned_image_key = models.CharField(max_length=300, blank=True)
    score = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    correct_count = models.PositiveSmallIntegerField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    graded_revision = models.PositiveIntegerField(default=0)  # the exam revision the score was computed for
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scan_id", "page_number"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "page_number"], name="exam_sheet_once_per_page"),
        ]
        indexes = [
            models.Index(fields=["exam", "status"], name="exam_sheet_exam_status"),
            models.Index(fields=["exam", "student"], name="exam_sheet_exam_student"),
        ]

    def __str__(self):
        return f"sheet {self.id} (page {self.page_number} of scan {self.scan_id}, {self.status})"
