"""The data step of 0003: which ABSENT rows were written by an import and never touched."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from apps.domains.enrollment.models import Attendance, SessionEnrollment

migration = import_module("apps.domains.enrollment.migrations.0003_attendance_unmarked")

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(tenant, make_lecture, make_session, make_student, make_enrollment):
    """row(status, memo, updated_after_join, joined=True) -> an attendance row as an import or a person left it."""
    lecture = make_lecture(tenant)
    session = make_session(lecture)
    joined_at = timezone.now() - timedelta(days=3)

    def make(status: str, memo: str = "", updated_after_join: timedelta | None = timedelta(0),
             joined: bool = True) -> Attendance:
        enrollment = make_enrollment(lecture, make_student(tenant))
        if joined:
            SessionEnrollment.objects.create(tenant=tenant, session=session, enrollment=enrollment)
            SessionEnrollment.objects.filter(enrollment=enrollment).update(created_at=joined_at)
        attendance = Attendance.objects.create(tenant=tenant, session=session, enrollment=enrollment, status=status,
                                               memo=memo)
        Attendance.objects.filter(id=attendance.id).update(updated_at=joined_at + updated_after_join)
        return attendance

    return make


def statuses(*rows: Attendance) -> list[str]:
    return [Attendance.objects.get(id=r.id).status for r in rows]


def test_only_untouched_import_rows_become_unmarked(row):
    # Given rows as the Postgres import wrote them (same timestamp), as the SQLite fallback wrote them
    # (milliseconds apart), and rows a person marked
    imported = row("ABSENT")
    imported_by_the_fallback = row("ABSENT", updated_after_join=timedelta(milliseconds=40))
    marked_later = row("ABSENT", updated_after_join=timedelta(hours=2))
    marked_with_a_memo = row("ABSENT", memo="병결 연락 없음")
    marked_before_the_import_joined = row("ABSENT", updated_after_join=-timedelta(days=1))
    marked_without_an_import = row("ABSENT", joined=False)
    present = row("PRESENT")

    # When the migration's data step runs
    migration.untouched_import_rows_to_unmarked(apps, None)

    # Then only the import's own rows wait to be marked
    assert statuses(imported, imported_by_the_fallback) == ["UNMARKED", "UNMARKED"]
    assert statuses(marked_later, marked_with_a_memo, marked_before_the_import_joined, marked_without_an_import,
                    present) == ["ABSENT", "ABSENT", "ABSENT", "ABSENT", "PRESENT"]


def test_the_reverse_step_makes_unmarked_rows_absent_again(row):
    unmarked, late = row("UNMARKED"), row("LATE")

    migration.unmarked_to_absent(apps, None)

    assert statuses(unmarked, late) == ["ABSENT", "LATE"]
