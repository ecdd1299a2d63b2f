"""seed_demo: a demo academy worth opening, created once however often `make run` starts."""

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.core.models import Role, Tenant, User
from apps.domains.enrollment.excel.importer import enrollment_import_file
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.lectures.models import Lecture, Session
from apps.domains.messaging.models import CreditEntry, MessagingProfile
from apps.domains.messaging.selectors import credit_balance
from apps.domains.students.accounts import student_account_activatable
from apps.domains.students.models import Student

pytestmark = pytest.mark.django_db


def seed(roster_path) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--sample-roster", str(roster_path), stdout=out)
    return out.getvalue()


def state() -> dict[str, int]:
    return {"users": User.objects.count(), "students": Student.objects.count(), "lectures": Lecture.objects.count(),
            "sessions": Session.objects.count(), "enrollments": Enrollment.objects.count(),
            "attendance": Attendance.objects.count(), "credit_entries": CreditEntry.objects.count(),
            "messaging_profiles": MessagingProfile.objects.count()}


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@time_machine.travel(date(2026, 3, 25), tick=False)
def test_seed_demo_fills_the_demo_academy_and_prints_the_logins(debug, tmp_path, client):
    # When the demo is seeded
    output = seed(tmp_path / "roster.xlsx")

    # Then the academy has teachers, students with parents' phones, lectures with dated sessions and enrollments
    tenant = Tenant.objects.get(code="demo")
    teachers = User.objects.filter(tenant=tenant, role=Role.TEACHER).order_by("username")
    assert [(t.username, t.first_name) for t in teachers] == [("teacher1", "김지훈"), ("teacher2", "이수진"),
                                                              ("teacher3", "박현우")]
    students = Student.objects.filter(tenant=tenant)
    assert students.count() == 40
    assert all(s.parent_phone.startswith("0105555") and len(s.parent_phone) == 11 for s in students)
    assert set(students.values_list("school_type", flat=True)) == {"ELEMENTARY", "MIDDLE", "HIGH"}
    lectures = Lecture.objects.filter(tenant=tenant).order_by("id")
    assert [(lec.title, lec.teacher.username, lec.sessions.count(), lec.enrollments.count()) for lec in lectures] == [
        ("초등 사고력 수학", "teacher1", 8, 14),
        ("중등 영어 내신반", "teacher2", 8, 14),
        ("고등 수학 심화", "teacher3", 8, 12),
    ]
    assert Session.objects.filter(tenant=tenant, date__lt=date(2026, 3, 25)).count() == 9
    # and past rolls are marked with every status, the roll not taken yet is UNMARKED, nothing in the future
    statuses = set(Attendance.objects.filter(tenant=tenant).values_list("status", flat=True))
    assert statuses == {"PRESENT", "LATE", "ABSENT", "EXCUSED", "UNMARKED"}
    assert not Attendance.objects.filter(session__date__gt=date(2026, 3, 25)).exists()
    today = Attendance.objects.filter(session__date=date(2026, 3, 25))
    assert set(today.values_list("status", flat=True)) == {"UNMARKED"}
    assert Attendance.objects.filter(status="UNMARKED", session__date__lt=date(2026, 3, 25)).count() == 12
    # and one student can log in, and every printed login works
    student_user = User.objects.get(username="student")
    assert (student_user.role, student_user.student.name) == (Role.STUDENT, "권민준")
    # active under the guardian-consent rule, not only by having been made before it (docs/accounts.md)
    assert student_account_activatable(student=student_user.student)
    for login, password in (("admin", "academy-demo-1234"), ("teacher1", "teacher-demo-1234"),
                            ("student", "student-demo-1234")):
        assert f"{login} / {password}" in output
        token = client.post("/api/v1/auth/token/", {"username": login, "password": password},
                            content_type="application/json")
        assert token.status_code == 200, login
    # and the student sees a published exam result, ranked among the class
    exams = client.get("/api/v1/me/exams/", HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}").json()
    assert exams["count"] == 1
    assert (exams["results"][0]["title"], exams["results"][0]["score"]) == ("단원평가 (데모)", 100.0)
    assert f"sample roster to upload: {tmp_path / 'roster.xlsx'}" in output
    # and the academy can send: a verified (made-up) sender and some credit
    profile = MessagingProfile.objects.get(tenant=tenant)
    assert (profile.sender_number, profile.sender_verified) == ("0255550100", True)
    assert credit_balance(tenant=tenant) == Decimal("50000.00")


def test_the_sample_roster_imports_into_the_demo_and_explains_the_two_skipped_rows(debug, tmp_path):
    # Given the seeded demo and its sample roster
    seed(tmp_path / "roster.xlsx")
    tenant = Tenant.objects.get(code="demo")
    lecture = Lecture.objects.get(tenant=tenant, title="중등 영어 내신반")

    # When the roster is imported into the middle school lecture
    result = enrollment_import_file(tenant=tenant, lecture=lecture, session=None, path=tmp_path / "roster.xlsx",
                                    initial_password=None, dry_run=False).to_dict()

    # Then 17 new students join, the one already enrolled is counted, and the two bad rows say why
    assert (result["created_students_count"], result["enrolled_count"], result["already_enrolled_count"]) == (
        17, 17, 1)
    assert [(s["row"], s["code"]) for s in result["skipped"]] == [(9, "MISSING_NAME"), (12, "INVALID_PARENT_PHONE")]
    assert not Attendance.objects.filter(enrollment__student__parent_phone__startswith="01055552",
                                         status="ABSENT").exists()


def test_seed_demo_twice_creates_nothing_and_keeps_what_the_demo_user_changed(debug, tmp_path):
    # Given a seeded demo where someone re-marked a student and deleted another
    seed(tmp_path / "roster.xlsx")
    mark = Attendance.objects.filter(status="PRESENT").order_by("id").first()
    Attendance.objects.filter(id=mark.id).update(status="EXCUSED", memo="체험학습")
    Student.objects.filter(name="천가은").update(deleted_at="2026-01-01T00:00:00Z")
    before = state()

    # When it runs again
    output = seed(tmp_path / "roster.xlsx")

    # Then nothing new exists and nothing was overwritten
    assert state() == before
    assert ("created this run: teachers 0, students 0, lectures 0, sessions 0, enrollments 0, attendance 0, "
            "message_setup 0, exams 0") in output
    assert Attendance.objects.get(id=mark.id).status == "EXCUSED"
    assert Student.objects.get(name="천가은").deleted_at is not None


def test_seed_demo_refuses_to_run_without_debug(settings, tmp_path):
    settings.DEBUG = False

    with pytest.raises(CommandError):
        seed(tmp_path / "roster.xlsx")

    assert not Tenant.objects.filter(code="demo").exists()
    assert not (tmp_path / "roster.xlsx").exists()
