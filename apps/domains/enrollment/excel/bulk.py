"""Set-based inserts of the roster import (ARCHITECTURE §4 Excel enrollment): one statement per table per batch.

On Postgres each insert is one `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING`: the rows
travel as a handful of arrays, so no model instance is built per row (building them cost more than the database
work), and RETURNING hands back the new ids without a second read. Elsewhere (the embedded SQLite of `make run`)
the same steps use `bulk_create(ignore_conflicts=True)` and read the ids back. Table and column names come from
model metadata and every value is a bound parameter, hence the S608 waivers. Either way a conflicting row is
skipped, never duplicated, and the number of statements does not depend on the number of rows.
"""

import json
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from apps.core.models import Role, User
from apps.domains.enrollment.models import Attendance, AttendanceStatus, Enrollment, EnrollmentStatus, SessionEnrollment
from apps.domains.students.grades import school_year_start
from apps.domains.students.models import Student

from .parser import ParsedStudentRow

_STUDENT_FIELDS = ("tenant", "name", "parent_phone", "phone", "school", "school_type", "grade", "grade_starts_on",
                   "gender", "birth_date", "memo", "extra", "created_at", "updated_at")
_ENROLLMENT_FIELDS = ("tenant", "lecture", "student", "status", "enrolled_at")


def fast_path_enabled() -> bool:
    return connection.vendor == "postgresql"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model, *names: str) -> str:
    return ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in names)


# First key of the advisory lock taken by roster imports; the second is the tenant id.
IMPORT_LOCK_NAMESPACE = 0x45584C  # "EXL"


def lock_tenant_imports(*, tenant) -> None:
    """Serialise the roster imports of one tenant until the transaction ends.

    Two imports of overlapping rosters would otherwise wait on each other's unique-index entries in different
    orders (a deadlock) or both count the same new student as created. Other tenants are not affected.
    """
    if fast_path_enabled():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK_NAMESPACE, tenant.id])


def select_students(*, tenant, keys) -> list[tuple[int, str, str, object]]:
    """(id, name, parent_phone, deleted_at) of the tenant's students, live or deleted, holding one of `keys`."""
    keys = list(keys)
    if fast_path_enabled():
        # One index probe per key on (tenant, name, parent_phone). The LATERAL ... OFFSET 0 keeps the planner from
        # turning this into a scan of the whole tenant, which it picks when statistics lag behind a big import
        # (each batch would then cost as much as every row imported so far).
        s_id, s_name, s_phone, s_deleted, s_tenant = (
            _columns(Student, name) for name in ("id", "name", "parent_phone", "deleted_at", "tenant")
        )
        sql = (
            f"SELECT s.{s_id}, s.{s_name}, s.{s_phone}, s.{s_deleted} "  # noqa: S608
            "FROM unnest(%s::text[], %s::text[]) AS k(name, parent_phone) CROSS JOIN LATERAL ("
            f"SELECT {s_id}, {s_name}, {s_phone}, {s_deleted} FROM {_table(Student)} "
            f"WHERE {s_tenant} = %s AND {s_name} = k.name AND {s_phone} = k.parent_phone OFFSET 0) AS s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [[name for name, _ in keys], [phone for _, phone in keys], tenant.id])
            return cursor.fetchall()
    wanted = set(keys)
    candidates = Student.objects.filter(
        tenant=tenant, name__in={name for name, _ in keys}, parent_phone__in={phone for _, phone in keys}
    ).values_list("id", "name", "parent_phone", "deleted_at")
    return [row for row in candidates if (row[1], row[2]) in wanted]


def select_enrollments(*, lecture, student_ids: Sequence[int]) -> dict[int, int]:
    """{student_id: enrollment_id} of the given students already enrolled in the lecture."""
    if fast_path_enabled():
        e_id, e_student, e_lecture = (_columns(Enrollment, name) for name in ("id", "student", "lecture"))
        sql = (
            f"SELECT e.{e_student}, e.{e_id} FROM unnest(%s::bigint[]) AS k(student_id) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {e_student}, {e_id} FROM {_table(Enrollment)} "
            f"WHERE {e_lecture} = %s AND {e_student} = k.student_id OFFSET 0) AS e"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(student_ids), lecture.id])
            return dict(cursor.fetchall())
    return dict(Enrollment.objects.filter(lecture=lecture, student_id__in=student_ids).values_list("student_id", "id"))


def insert_students(*, tenant, rows: Sequence[ParsedStudentRow], now) -> dict[tuple[str, str], int]:
    """Insert the rows' students; return {(name, parent_phone): id} of the live students now holding those keys."""
    wanted = {row.key for row in rows}
    # "예비 고2" starts with the coming school year, as the student API sets it.
    starts_on = school_year_start(timezone.localdate(now))
    if fast_path_enabled():
        columns = _columns(Student, *_STUDENT_FIELDS)
        sql = (
            f"INSERT INTO {_table(Student)} ({columns}) "  # noqa: S608 (identifiers from model metadata)
            "SELECT %s, t.name, t.parent_phone, t.phone, t.school, t.school_type, t.grade, t.grade_starts_on, "
            "t.gender, t.birth_date, t.memo, t.extra::jsonb, %s, %s "
            "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::smallint[], %s::date[], "
            "%s::text[], %s::date[], %s::text[], %s::text[]) "
            "AS t(name, parent_phone, phone, school, school_type, grade, grade_starts_on, gender, birth_date, memo, "
            "extra) "
            f"ON CONFLICT DO NOTHING RETURNING {_columns(Student, 'name', 'parent_phone', 'id')}"
        )
        params = [
            tenant.id, now, now,
            [row.name for row in rows], [row.parent_phone for row in rows], [row.phone for row in rows],
            [row.school for row in rows], [row.school_type for row in rows], [row.grade for row in rows],
            [starts_on if row.grade_upcoming else None for row in rows],
            [row.gender for row in rows], [row.birth_date for row in rows], [row.memo for row in rows],
            [json.dumps(row.extra, ensure_ascii=False) for row in rows],
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            created = {(name, phone): student_id for name, phone, student_id in cursor.fetchall()}
        if len(created) == len(wanted):
            return created
    else:
        Student.objects.bulk_create(
            [
                Student(tenant=tenant, name=row.name, parent_phone=row.parent_phone, phone=row.phone,
                        school=row.school, school_type=row.school_type, grade=row.grade,
                        grade_starts_on=starts_on if row.grade_upcoming else None, gender=row.gender,
                        birth_date=row.birth_date, memo=row.memo, extra=row.extra)
                for row in rows
            ],
            ignore_conflicts=True,
        )
    # A conflict means another import created the same student meanwhile: read the ids of every key.
    found = Student.objects.alive().filter(
        tenant=tenant, name__in={row.name for row in rows}, parent_phone__in={row.parent_phone for row in rows}
    ).values_list("name", "parent_phone", "id")
    return {(name, phone): student_id for name, phone, student_id in found if (name, phone) in wanted}


def insert_enrollments(*, tenant, lecture, student_ids: Sequence[int], now) -> dict[int, int]:
    """Enroll the students; return {student_id: enrollment_id} of every one of them."""
    wanted = set(student_ids)
    if fast_path_enabled():
        sql = (
            f"INSERT INTO {_table(Enrollment)} ({_columns(Enrollment, *_ENROLLMENT_FIELDS)}) "  # noqa: S608
            "SELECT %s, %s, s, %s, %s FROM unnest(%s::bigint[]) AS s "
            f"ON CONFLICT DO NOTHING RETURNING {_columns(Enrollment, 'student', 'id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [tenant.id, lecture.id, EnrollmentStatus.ACTIVE.value, now, list(student_ids)])
            inserted = dict(cursor.fetchall())
        if len(inserted) == len(wanted):
            return inserted
    else:
        Enrollment.objects.bulk_create(
            [Enrollment(tenant=tenant, lecture=lecture, student_id=student_id) for student_id in student_ids],
            ignore_conflicts=True,
        )
    return dict(Enrollment.objects.filter(lecture=lecture, student_id__in=wanted).values_list("student_id", "id"))


def insert_session_rows(*, tenant, session, enrollment_ids: Sequence[int], now) -> None:
    """Add the enrollments to the session with an attendance row each, UNMARKED until someone takes the roll."""
    if fast_path_enabled():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_table(SessionEnrollment)} "  # noqa: S608
                f"({_columns(SessionEnrollment, 'tenant', 'session', 'enrollment', 'created_at')}) "
                "SELECT %s, %s, e, %s FROM unnest(%s::bigint[]) AS e ON CONFLICT DO NOTHING",
                [tenant.id, session.id, now, list(enrollment_ids)],
            )
            cursor.execute(
                f"INSERT INTO {_table(Attendance)} "  # noqa: S608
                f"({_columns(Attendance, 'tenant', 'session', 'enrollment', 'status', 'memo', 'updated_at')}) "
                "SELECT %s, %s, e, %s, '', %s FROM unnest(%s::bigint[]) AS e ON CONFLICT DO NOTHING",
                [tenant.id, session.id, AttendanceStatus.UNMARKED.value, now, list(enrollment_ids)],
            )
        return
    SessionEnrollment.objects.bulk_create(
        [SessionEnrollment(tenant=tenant, session=session, enrollment_id=eid) for eid in enrollment_ids],
        ignore_conflicts=True,
    )
    Attendance.objects.bulk_create(
        [Attendance(tenant=tenant, session=session, enrollment_id=eid, status=AttendanceStatus.UNMARKED)
         for eid in enrollment_ids],
        ignore_conflicts=True,
    )


def insert_accounts(*, tenant, accounts: Sequence[tuple[int, str, str, bool]], password_hash: str, now) -> set[str]:
    """Create student users from (student_id, username, first_name, is_active) with one shared password hash and
    link them; returns the usernames linked.

    A username that already exists (the same deterministic name from an earlier run) is linked, not re-created.
    """
    student_of = {username: student_id for student_id, username, _, _ in accounts}
    if fast_path_enabled():
        fields = ("password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
                  "is_active", "date_joined", "tenant", "role")
        sql = (
            f"INSERT INTO {_table(User)} ({_columns(User, *fields)}) "  # noqa: S608
            "SELECT %s, false, t.username, t.first_name, '', '', false, t.is_active, %s, %s, %s "
            "FROM unnest(%s::text[], %s::text[], %s::boolean[]) AS t(username, first_name, is_active) "
            f"ON CONFLICT DO NOTHING RETURNING {_columns(User, 'username', 'id')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [password_hash, now, tenant.id, Role.STUDENT.value,
                                 [username for _, username, _, _ in accounts], [name for _, _, name, _ in accounts],
                                 [active for _, _, _, active in accounts]])
            user_of = dict(cursor.fetchall())
    else:
        User.objects.bulk_create(
            [User(username=username, password=password_hash, tenant=tenant, role=Role.STUDENT, first_name=name,
                  is_active=active)
             for _, username, name, active in accounts],
            ignore_conflicts=True,
        )
        user_of = {}
    if len(user_of) < len(student_of):
        user_of = dict(User.objects.filter(tenant=tenant, username__in=student_of).values_list("username", "id"))
    if not user_of:
        return set()
    if fast_path_enabled():
        s_user, s_id = _columns(Student, "user"), _columns(Student, "id")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table(Student)} SET {s_user} = v.user_id "  # noqa: S608
                f"FROM unnest(%s::bigint[], %s::bigint[]) AS v(student_id, user_id) WHERE {s_id} = v.student_id",
                [[student_of[username] for username in user_of], list(user_of.values())],
            )
        return set(user_of)
    Student.objects.bulk_update([Student(id=student_of[username], user_id=uid) for username, uid in user_of.items()],
                                ["user"])
    return set(user_of)
