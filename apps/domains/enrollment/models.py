"""Enrollments, session enrollments and attendance (ARCHITECTURE §6 domains/enrollment)."""

from django.db import models

from apps.core.models import TenantOwnedModel


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "ACTIVE", "수강중"
    PAUSED = "PAUSED", "휴강"
    DROPPED = "DROPPED", "수강취소"
    COMPLETED = "COMPLETED", "수료"


class Enrollment(TenantOwnedModel):
    # PROTECT: enrollments are history; a lecture is archived, and purged only without them (docs/decisions/0005).
    lecture = models.ForeignKey("lectures.Lecture", on_delete=models.PROTECT, related_name="enrollments")
    student = models.ForeignKey("students.Student", on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=12, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["lecture", "student"], name="uniq_enrollment")]

    def __str__(self):
        return f"{self.student_id}@{self.lecture_id}"


class SessionEnrollment(TenantOwnedModel):
    session = models.ForeignKey("lectures.Session", on_delete=models.CASCADE, related_name="session_enrollments")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="session_enrollments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["session", "enrollment"], name="uniq_session_enrollment")]


class AttendanceStatus(models.TextChoices):
    """UNMARKED until a person takes the roll: ABSENT is a mark someone made (and may be texted to a parent)."""

    UNMARKED = "UNMARKED", "미확인"
    PRESENT = "PRESENT", "출석"
    ABSENT = "ABSENT", "결석"
    LATE = "LATE", "지각"
    EXCUSED = "EXCUSED", "공결"


class Attendance(TenantOwnedModel):
    session = models.ForeignKey("lectures.Session", on_delete=models.CASCADE, related_name="attendances")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attendances")
    status = models.CharField(max_length=10, choices=AttendanceStatus.choices, default=AttendanceStatus.UNMARKED)
    memo = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["session", "enrollment"], name="uniq_attendance")]
