from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role, User
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.students.models import GuardianConsent, Student
from apps.domains.students.tests.test_accounts import bearer, years_ago


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def snapshot():
    return sorted(Student.objects.values_list("id", "deleted_at", "name")), Enrollment.objects.count()


@pytest.fixture
def twins(tenant, make_student, make_user, make_lecture, make_session, make_enrollment, make_attendance):
    """Three deleted twins (oldest in the middle) with enrollments, attendance and a student login."""
    now = timezone.now()
    lecture = make_lecture(tenant)
    session = make_session(lecture)
    newer = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=1),
                         user=make_user(tenant, Role.STUDENT))
    oldest = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=9))
    middle = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=4))
    for student in (newer, oldest, middle):
        make_attendance(session, make_enrollment(lecture, student))
    return {"oldest": oldest, "middle": middle, "newer": newer}


@pytest.mark.parametrize("flags", [[], ["--dry-run"]])
def test_duplicates_dry_run_prints_groups_and_changes_nothing(twins, flags):
    before = snapshot()

    output = run("check_deleted_student_duplicates", *flags)

    assert snapshot() == before
    assert f"keep id={twins['oldest'].id}" in output
    assert f"would delete ids={[twins['middle'].id, twins['newer'].id]}" in output
    assert "010****5678" in output and "01012345678" not in output
    assert "dry run: 1 group(s), 2 student(s) would be deleted" in output


def test_duplicates_fix_keeps_oldest_and_deletes_the_rest_with_dependents(twins):
    login_id = twins["newer"].user_id

    output = run("check_deleted_student_duplicates", "--fix")

    assert list(Student.objects.values_list("id", flat=True)) == [twins["oldest"].id]
    assert list(Enrollment.objects.values_list("student_id", flat=True)) == [twins["oldest"].id]
    assert Attendance.objects.count() == 1
    assert not User.objects.filter(id=login_id).exists()
    assert "fixed: 1 group(s), 2 student(s) deleted" in output


def test_duplicates_fix_twice_changes_nothing_the_second_time(twins):
    run("check_deleted_student_duplicates", "--fix")
    before = snapshot()

    output = run("check_deleted_student_duplicates", "--fix")

    assert snapshot() == before
    assert "fixed: 0 group(s), 0 student(s) deleted" in output


def test_duplicates_fix_limited_to_one_tenant(twins, other_tenant, make_student):
    now = timezone.now()
    others = [make_student(other_tenant, name="김철수", parent_phone="01012345678", deleted_at=now) for _ in range(2)]

    run("check_deleted_student_duplicates", "--fix", "--tenant", other_tenant.code)

    assert Student.objects.filter(tenant=other_tenant).count() == 1
    assert Student.objects.get(tenant=other_tenant).id == others[0].id
    assert Student.objects.filter(id__in=[s.id for s in twins.values()]).count() == 3


def test_duplicates_unknown_tenant_is_an_error(twins):
    with pytest.raises(CommandError, match="unknown tenant code: nope"):
        run("check_deleted_student_duplicates", "--fix", "--tenant", "nope")

    assert Student.objects.count() == 3


def test_duplicates_flags_are_exclusive(twins):
    with pytest.raises(CommandError):
        run("check_deleted_student_duplicates", "--fix", "--dry-run")

    assert Student.objects.count() == 3


@pytest.fixture
def aged(tenant, make_student, make_lecture, make_enrollment):
    now = timezone.now()
    lecture = make_lecture(tenant)
    rows = {
        "old": make_student(tenant, deleted_at=now - timedelta(days=31)),
        "edge": make_student(tenant, deleted_at=now - timedelta(days=29, hours=23)),
        "recent": make_student(tenant, deleted_at=now - timedelta(days=2)),
        "live": make_student(tenant),
    }
    make_enrollment(lecture, rows["old"])
    return rows


def test_purge_dry_run_lists_and_changes_nothing(aged):
    before = snapshot()

    output = run("purge_deleted_students", "--dry-run", "--days", "30")

    assert snapshot() == before
    assert f"would delete id={aged['old'].id}" in output
    assert f"id={aged['edge'].id}" not in output
    assert "would delete 1 student(s)" in output


def test_purge_deletes_only_older_than_the_day_count(aged):
    output = run("purge_deleted_students", "--days", "30")

    remaining = set(Student.objects.values_list("id", flat=True))
    assert remaining == {aged["edge"].id, aged["recent"].id, aged["live"].id}
    assert Enrollment.objects.count() == 0
    assert f"deleted id={aged['old'].id}" in output


def test_purge_with_fewer_days_reaches_further(aged):
    run("purge_deleted_students", "--days", "1")

    assert set(Student.objects.values_list("id", flat=True)) == {aged["live"].id}


@override_settings(DELETED_STUDENT_RETENTION_DAYS=3)
def test_purge_default_days_come_from_settings(aged):
    run("purge_deleted_students")

    assert set(Student.objects.values_list("id", flat=True)) == {aged["recent"].id, aged["live"].id}


def test_purge_second_run_is_a_no_op(aged):
    run("purge_deleted_students", "--days", "30")
    before = snapshot()

    output = run("purge_deleted_students", "--days", "30")

    assert snapshot() == before
    assert "deleted 0 student(s)" in output


@pytest.mark.django_db
def test_check_student_logins_lists_then_holds_logins_the_consent_rule_would_hold(tenant, other_tenant, make_student,
                                                                                  make_user):
    def with_login(student_tenant, name, **fields):
        user = make_user(student_tenant, Role.STUDENT, username=f"{student_tenant.code}-{name}")
        return make_student(student_tenant, name, user=user, **fields)

    unknown_age = with_login(tenant, "나이모름", school_type="MIDDLE")
    child = with_login(tenant, "어린이", birth_date=years_ago(10))
    consented = with_login(tenant, "동의함", birth_date=years_ago(10))
    GuardianConsent.objects.create(tenant=tenant, student=consented, guardian_name="보호자", relation="MOTHER",
                                   method="WRITTEN", consented_at=timezone.now(), recorded_by=make_user(tenant))
    with_login(tenant, "고등학생", school_type="HIGH")
    with_login(tenant, "열다섯", birth_date=years_ago(15))
    elsewhere = with_login(other_tenant, "다른학원", birth_date=years_ago(10))
    token = str(AccessToken.for_user(child.user))

    listed = run("check_student_logins", "--tenant", tenant.code)
    applied = run("check_student_logins", "--apply", "--tenant", tenant.code)

    expected = [f"tenant={tenant.code} student={unknown_age.id} login={unknown_age.user.username} (age unknown, "
                "no consent)",
                f"tenant={tenant.code} student={child.id} login={child.user.username} (under 14, no consent)"]
    assert listed.splitlines() == [*expected, "would hold: 2 login(s)"]
    assert applied.splitlines() == [*expected, "held: 2 login(s)"]
    assert dict(User.objects.filter(student__isnull=False).values_list("username", "is_active")) == {
        unknown_age.user.username: False, child.user.username: False, consented.user.username: True,
        f"{tenant.code}-고등학생": True, f"{tenant.code}-열다섯": True, elsewhere.user.username: True}
    assert bearer(token).get("/api/v1/auth/me/").status_code == 401
    assert run("check_student_logins", "--tenant", tenant.code).splitlines() == ["would hold: 0 login(s)"]
    with pytest.raises(CommandError):
        run("check_student_logins", "--tenant", "nope")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 12])
def test_the_consent_check_reads_every_login_in_one_query(tenant, make_student, make_user,
                                                          django_assert_num_queries, count):
    from apps.domains.students.accounts import student_logins_awaiting_consent

    for n in range(count):
        make_student(tenant, f"학생{n}", user=make_user(tenant, Role.STUDENT, username=f"s{n}"),
                     birth_date=years_ago(10))

    with django_assert_num_queries(1):
        held = student_logins_awaiting_consent(tenant=tenant)

    assert len(held) == count
