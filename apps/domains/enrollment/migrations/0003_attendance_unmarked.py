"""Attendance gets a not-yet-marked state; the ABSENT rows the roster import wrote on its own become UNMARKED.

Attendance has no created_at, so an untouched import row is recognised by its session enrollment, which the
import inserts in the same transaction: an import row is ABSENT with no memo and its updated_at is the session
enrollment's created_at (the same timestamp on Postgres; within milliseconds on the SQLite fallback, whose two
inserts each take their own clock reading). A mark a person made through the attendance API moves updated_at to
the moment of marking (or, for a row marked before the import added the session enrollment, leaves it earlier),
so it falls outside the window and stays ABSENT.
"""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

# Longer than the two inserts of one import batch take, far shorter than taking a roll after an import.
IMPORT_WINDOW = timedelta(seconds=5)


def untouched_import_rows_to_unmarked(apps, schema_editor):
    Attendance = apps.get_model("enrollment", "Attendance")
    SessionEnrollment = apps.get_model("enrollment", "SessionEnrollment")
    joined_at = SessionEnrollment.objects.filter(
        session_id=OuterRef("session_id"), enrollment_id=OuterRef("enrollment_id")
    ).values("created_at")[:1]
    (
        Attendance.objects.filter(status="ABSENT", memo="")
        .annotate(joined_at=Subquery(joined_at))
        .filter(updated_at__gte=F("joined_at"), updated_at__lt=F("joined_at") + IMPORT_WINDOW)
        .update(status="UNMARKED")
    )


def unmarked_to_absent(apps, schema_editor):
    # Before this migration a row nobody had marked was ABSENT.
    apps.get_model("enrollment", "Attendance").objects.filter(status="UNMARKED").update(status="ABSENT")


class Migration(migrations.Migration):

    dependencies = [
        ("enrollment", "0002_enrollment_lecture_protect"),
    ]

    operations = [
        migrations.AlterField(
            model_name="attendance",
            name="status",
            field=models.CharField(choices=[("UNMARKED", "미확인"), ("PRESENT", "출석"), ("ABSENT", "결석"),
                                            ("LATE", "지각"), ("EXCUSED", "공결")],
                                   default="UNMARKED", max_length=10),
        ),
        migrations.RunPython(untouched_import_rows_to_unmarked, unmarked_to_absent),
    ]
