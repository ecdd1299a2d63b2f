"""Staff views of issue 14: a session's roll sheet and a student's attendance history."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role
from apps.domains.enrollment.models import EnrollmentStatus

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def teacher(tenant, make_user):
    return token_client(make_user(tenant, role=Role.TEACHER, username="teacher1"))


@pytest.fixture
def klass(tenant, make_lecture, make_session, make_student, make_enrollment, make_attendance):
    lecture = make_lecture(tenant, title="수학 A반")
    session = make_session(lecture, title="1회차", date=datetime.date(2026, 3, 2), start_time=datetime.time(18),
                           end_time=datetime.time(19))
    students = {name: make_student(tenant, name=name) for name in ("다온", "가윤", "나래", "라희")}
    enrollments = {name: make_enrollment(lecture, student) for name, student in students.items()}
    enrollments["라희"].status = EnrollmentStatus.DROPPED
    enrollments["라희"].save()
    make_attendance(session, enrollments["가윤"], status="LATE", memo="10분")
    make_attendance(session, enrollments["나래"], status="UNMARKED")  # written ahead by the roster import
    return {"lecture": lecture, "session": session, "students": students, "enrollments": enrollments}


def test_the_roll_sheet_lists_every_active_enrollment_with_its_mark(teacher, klass):
    session = klass["session"]

    response = teacher.get(f"/api/v1/sessions/{session.id}/roll/")

    body = response.json()
    enrollments, students = klass["enrollments"], klass["students"]
    assert response.status_code == 200
    assert body["session"] == {"id": session.id, "lecture_id": klass["lecture"].id, "lecture_title": "수학 A반",
                               "order": 1, "title": "1회차", "date": "2026-03-02", "start_time": "18:00",
                               "end_time": "19:00"}
    assert [(row["student_name"], row["status"], row["memo"]) for row in body["students"]] == [
        ("가윤", "LATE", "10분"), ("나래", "UNMARKED", ""), ("다온", "UNMARKED", "")]  # the dropped 라희 is not
    assert body["students"][2] == {"enrollment_id": enrollments["다온"].id, "student_id": students["다온"].id,
                                   "student_name": "다온", "status": "UNMARKED", "memo": "", "marked_at": None}
    assert body["counts"] == {"UNMARKED": 2, "PRESENT": 0, "ABSENT": 0, "LATE": 1, "EXCUSED": 0}


def test_the_roll_sheet_of_an_archived_lecture_still_reads(teacher, klass):
    klass["lecture"].archived_at = timezone.now()
    klass["lecture"].save()

    response = teacher.get(f"/api/v1/sessions/{klass['session'].id}/roll/")

    assert (response.status_code, len(response.json()["students"])) == (200, 3)


def test_the_roll_sheet_costs_the_same_queries_for_3_and_300_students(teacher, klass, tenant, make_student,
                                                                      make_enrollment, django_assert_num_queries):
    url = f"/api/v1/sessions/{klass['session'].id}/roll/"
    with django_assert_num_queries(3):  # authentication, the session, the roll
        small = teacher.get(url)
    for index in range(297):
        make_enrollment(klass["lecture"], make_student(tenant, name=f"학생{index:03d}"))
    with django_assert_num_queries(3):
        large = teacher.get(url)
    assert (len(small.json()["students"]), len(large.json()["students"])) == (3, 300)


def test_a_students_history_across_lectures_newest_first_with_counts(teacher, klass, tenant, make_lecture,
                                                                     make_session, make_enrollment,
                                                                     make_attendance):
    student = klass["students"]["가윤"]
    english = make_lecture(tenant, title="영어", archived_at=timezone.now())  # history keeps archived lectures
    enrollment = make_enrollment(english, student, status=EnrollmentStatus.DROPPED)
    make_attendance(make_session(english, title="E1", date=datetime.date(2026, 3, 5)), enrollment, status="ABSENT")
    make_attendance(make_session(english, title="E2", date=datetime.date(2026, 3, 6)), enrollment, status="PRESENT")
    make_session(english, title="E3", date=datetime.date(2026, 3, 9))  # no row: unmarked
    make_session(english, title="E4", date=datetime.date(2026, 3, 20))  # future, unmarked: not history yet
    make_session(klass["lecture"], title="2회차")  # undated, unmarked: not history

    response = teacher.get(f"/api/v1/students/{student.id}/attendance/")

    body = response.json()
    assert response.status_code == 200
    assert [(row["lecture_title"], row["title"], row["date"], row["status"]) for row in body["results"]] == [
        ("영어", "E3", "2026-03-09", "UNMARKED"), ("영어", "E2", "2026-03-06", "PRESENT"),
        ("영어", "E1", "2026-03-05", "ABSENT"), ("수학 A반", "1회차", "2026-03-02", "LATE")]
    assert body["count"] == 4
    assert body["counts"] == {"UNMARKED": 1, "PRESENT": 1, "ABSENT": 1, "LATE": 1, "EXCUSED": 0}
    assert body["rate"] == round(2 / 3, 4)
    paged = teacher.get(f"/api/v1/students/{student.id}/attendance/?page_size=1&page=2").json()
    # The counts cover the whole history on every page.
    assert ([row["title"] for row in paged["results"]], paged["counts"]) == (["E2"], body["counts"])


def test_the_history_costs_the_same_queries_for_3_and_30_sessions(teacher, klass, make_session, make_attendance,
                                                                  django_assert_num_queries):
    student = klass["students"]["가윤"]
    url = f"/api/v1/students/{student.id}/attendance/?page_size=100"
    counts = []
    for more in (2, 27):
        for _ in range(more):
            make_attendance(make_session(klass["lecture"], date=datetime.date(2026, 3, 3)),
                            klass["enrollments"]["가윤"], status="PRESENT")
        # authentication, the student, the page count, the page, the counts
        with django_assert_num_queries(5):
            response = teacher.get(url)
        counts.append(response.json()["count"])
    assert counts == [3, 30]


STAFF_VIEWS = ["/api/v1/sessions/{session}/roll/", "/api/v1/students/{student}/attendance/"]


@pytest.mark.parametrize("url", STAFF_VIEWS)
@pytest.mark.parametrize(("role", "status"), [
    (Role.OWNER, 200), (Role.ADMIN, 200), (Role.TEACHER, 200), (Role.STAFF, 200), (Role.STUDENT, 403),
    (Role.PARENT, 403), (None, 401)])
def test_only_staff_read_the_roll_and_histories(klass, tenant, make_user, url, role, status):
    client = APIClient() if role is None else token_client(make_user(tenant, role=role))
    response = client.get(url.format(session=klass["session"].id, student=klass["students"]["가윤"].id))
    assert response.status_code == status


@pytest.mark.parametrize("url", STAFF_VIEWS)
def test_another_academys_ids_are_404(klass, other_tenant, make_user, url):
    foreign_staff = token_client(make_user(other_tenant, role=Role.ADMIN))
    response = foreign_staff.get(url.format(session=klass["session"].id, student=klass["students"]["가윤"].id))
    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")


def test_a_deleted_students_history_is_404(teacher, klass):
    student = klass["students"]["가윤"]
    student.deleted_at = timezone.now()
    student.save()
    assert teacher.get(f"/api/v1/students/{student.id}/attendance/").status_code == 404
