"""Admin-only actions refused to teachers, students and parents; staff endpoints refused to students and parents."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.core.models import Role
from apps.domains.enrollment.models import Enrollment
from apps.domains.lectures.models import Lecture
from apps.domains.students.models import Student


@pytest.fixture
def rows(tenant, make_student, make_lecture, make_enrollment):
    now = timezone.now()
    live = make_student(tenant, name="김철수")
    deleted = make_student(tenant, name="이영희", parent_phone="01033334444", deleted_at=now - timedelta(days=1))
    make_student(tenant, name="이영희", parent_phone="01033334444", deleted_at=now)
    lecture = make_lecture(tenant)
    enrollment = make_enrollment(lecture, live)
    return {"student": live.id, "deleted": deleted.id, "lecture": lecture.id, "enrollment": enrollment.id}


def everything():
    return [sorted(map(model_to_dict, m.objects.order_by("id")), key=lambda r: r["id"])
            for m in (Student, Lecture, Enrollment)]


ADMIN_ONLY = {
    "student-delete": ("delete", "/api/v1/students/{student}/"),
    "student-restore": ("post", "/api/v1/students/{deleted}/restore/"),
    "duplicates-check": ("get", "/api/v1/students/deleted_duplicates/"),
    "duplicates-fix": ("post", "/api/v1/students/deleted_duplicates/fix/"),
    "lecture-delete": ("delete", "/api/v1/lectures/{lecture}/"),
    "enrollment-delete": ("delete", "/api/v1/enrollments/{enrollment}/"),
}


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STAFF, Role.STUDENT, Role.PARENT])
@pytest.mark.parametrize("action", ADMIN_ONLY)
def test_admin_only_actions_are_403_for_other_roles(rows, client_for, make_user, tenant, role, action):
    method, url = ADMIN_ONLY[action]
    before = everything()

    response = getattr(client_for(make_user(tenant, role)), method)(url.format(**rows))

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert everything() == before


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owner_and_admin_may_fix_duplicates(rows, client_for, make_user, tenant, role):
    response = client_for(make_user(tenant, role)).post("/api/v1/students/deleted_duplicates/fix/")

    assert response.status_code == 200
    assert response.json()["kept_ids"] == [rows["deleted"]]


STAFF_READS = ["/api/v1/students/", "/api/v1/students/deleted/", "/api/v1/lectures/", "/api/v1/enrollments/",
               "/api/v1/students/{student}/"]


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
@pytest.mark.parametrize("url", STAFF_READS)
def test_students_and_parents_cannot_read_staff_endpoints(rows, client_for, make_user, tenant, role, url):
    response = client_for(make_user(tenant, role)).get(url.format(**rows))

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_students_and_parents_cannot_create(rows, client_for, make_user, tenant, role):
    response = client_for(make_user(tenant, role)).post(
        "/api/v1/students/", {"name": "새학생", "parent_phone": "01055556666"}, format="json")

    assert response.status_code == 403
    assert not Student.objects.filter(name="새학생").exists()


def test_user_of_an_inactive_tenant_is_refused(rows, client_for, make_user, tenant):
    admin = make_user(tenant, Role.ADMIN)
    tenant.is_active = False
    tenant.save()

    assert client_for(admin).get("/api/v1/students/").status_code == 403
