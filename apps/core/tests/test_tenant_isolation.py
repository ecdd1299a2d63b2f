"""Every tenant-owned endpoint, called by tenant B's admin with tenant A's ids: 404, and A's rows untouched."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.core.models import Role, User
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.lectures.models import Lecture, Session
from apps.domains.students.models import Student


@pytest.fixture
def world(tenant, other_tenant, make_user, make_student, make_lecture, make_session, make_enrollment,
          make_attendance):
    """Tenant A's rows (the victim) and tenant B's own rows (the caller's)."""
    now = timezone.now()
    a_teacher = make_user(tenant, Role.TEACHER)
    a_lecture = make_lecture(tenant, teacher=a_teacher)
    a_session = make_session(a_lecture)
    a_student = make_student(tenant, name="김철수", parent_phone="01011112222")
    a_enrollment = make_enrollment(a_lecture, a_student)
    make_attendance(a_session, a_enrollment)
    a_deleted = make_student(tenant, name="이영희", parent_phone="01033334444", deleted_at=now - timedelta(days=2))
    make_student(tenant, name="이영희", parent_phone="01033334444", deleted_at=now)
    b_lecture = make_lecture(other_tenant, title="B 강의")
    b_student = make_student(other_tenant, name="박민수")
    b_session = make_session(b_lecture)
    return {
        "student": a_student.id, "deleted": a_deleted.id, "lecture": a_lecture.id, "session": a_session.id,
        "enrollment": a_enrollment.id, "teacher": a_teacher.id,
        "b_lecture": b_lecture.id, "b_student": b_student.id, "b_session": b_session.id,
    }


def tenant_rows(tenant) -> dict:
    models = [Student, Lecture, Session, Enrollment, Attendance, User]
    return {m.__name__: [model_to_dict(row) for row in m.objects.filter(tenant=tenant).order_by("id")]
            for m in models}


STUDENT_BODY = {"name": "탈취", "parent_phone": "01099990000"}

# (method, url, body) with {placeholders} filled from `world`: A's ids in the URL or in the body.
FOREIGN_ID_CASES = {
    "student-detail": ("get", "/api/v1/students/{student}/", None),
    "student-put": ("put", "/api/v1/students/{student}/", STUDENT_BODY),
    "student-patch": ("patch", "/api/v1/students/{student}/", {"memo": "x"}),
    "student-delete": ("delete", "/api/v1/students/{student}/", None),
    "student-restore": ("post", "/api/v1/students/{deleted}/restore/", None),
    "lecture-detail": ("get", "/api/v1/lectures/{lecture}/", None),
    "lecture-put": ("put", "/api/v1/lectures/{lecture}/", {"title": "x"}),
    "lecture-patch": ("patch", "/api/v1/lectures/{lecture}/", {"title": "x"}),
    "lecture-delete": ("delete", "/api/v1/lectures/{lecture}/", None),
    "lecture-sessions-list": ("get", "/api/v1/lectures/{lecture}/sessions/", None),
    "lecture-sessions-create": ("post", "/api/v1/lectures/{lecture}/sessions/", {"title": "x"}),
    "session-detail": ("get", "/api/v1/sessions/{session}/", None),
    "session-patch": ("patch", "/api/v1/sessions/{session}/", {"title": "x"}),
    "session-delete": ("delete", "/api/v1/sessions/{session}/", None),
    "enrollment-detail": ("get", "/api/v1/enrollments/{enrollment}/", None),
    "enrollment-patch": ("patch", "/api/v1/enrollments/{enrollment}/", {"status": "DROPPED"}),
    "enrollment-delete": ("delete", "/api/v1/enrollments/{enrollment}/", None),
    "attendance-list": ("get", "/api/v1/sessions/{session}/attendance/", None),
    "attendance-update": ("post", "/api/v1/sessions/{session}/attendance/",
                          [{"enrollment_id": "{enrollment}", "status": "ABSENT"}]),
    # A's ids inside the body of B's own requests
    "body-enrollment-lecture": ("post", "/api/v1/enrollments/", {"lecture_id": "{lecture}",
                                                                 "student_id": "{b_student}"}),
    "body-enrollment-student": ("post", "/api/v1/enrollments/", {"lecture_id": "{b_lecture}",
                                                                 "student_id": "{student}"}),
    "body-lecture-teacher": ("post", "/api/v1/lectures/", {"title": "x", "teacher_id": "{teacher}"}),
    "body-lecture-teacher-patch": ("patch", "/api/v1/lectures/{b_lecture}/", {"teacher_id": "{teacher}"}),
    "body-attendance-enrollment": ("post", "/api/v1/sessions/{b_session}/attendance/",
                                   [{"enrollment_id": "{enrollment}", "status": "ABSENT"}]),
}


def fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.fixture
def b_admin(client_for, make_user, other_tenant):
    return client_for(make_user(other_tenant, Role.ADMIN))


@pytest.mark.parametrize("case", FOREIGN_ID_CASES)
def test_foreign_ids_answer_404_and_change_nothing(world, b_admin, tenant, other_tenant, case):
    method, url, body = FOREIGN_ID_CASES[case]
    before_a, before_b_counts = tenant_rows(tenant), {k: len(v) for k, v in tenant_rows(other_tenant).items()}

    response = getattr(b_admin, method)(fill(url, world), fill(body, world), format="json")

    assert response.status_code == 404, response.content
    assert response.json()["code"].endswith("NOT_FOUND")
    assert tenant_rows(tenant) == before_a
    assert {k: len(v) for k, v in tenant_rows(other_tenant).items()} == before_b_counts


LIST_CASES = {
    "students": ("/api/v1/students/", "results"),
    "students-by-a-lecture": ("/api/v1/students/?lecture={lecture}", "results"),
    "students-deleted": ("/api/v1/students/deleted/", "results"),
    "lectures": ("/api/v1/lectures/", "results"),
    "enrollments": ("/api/v1/enrollments/", "results"),
    "enrollments-by-a-student": ("/api/v1/enrollments/?student={student}", "results"),
    "deleted-duplicates": ("/api/v1/students/deleted_duplicates/", "groups"),
}


@pytest.mark.parametrize("case", LIST_CASES)
def test_lists_never_show_another_tenants_rows(world, b_admin, tenant, case):
    url, key = LIST_CASES[case]
    a_ids = {world[k] for k in ("student", "deleted", "lecture", "enrollment")}

    response = b_admin.get(fill(url, world))

    assert response.status_code == 200
    rows = response.json()[key]
    assert not {row.get("id", row.get("keep_id")) for row in rows} & a_ids
    if case not in ("lectures", "students"):  # B has its own lectures and students
        assert rows == []


def test_duplicate_fix_by_another_tenant_leaves_a_untouched(world, b_admin, tenant):
    before = tenant_rows(tenant)

    response = b_admin.post("/api/v1/students/deleted_duplicates/fix/")

    assert response.status_code == 200
    assert response.json() == {"groups": 0, "deleted_ids": [], "kept_ids": []}
    assert tenant_rows(tenant) == before
