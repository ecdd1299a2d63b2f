from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from apps.core.models import Role
from apps.domains.students.models import Student

URL = "/api/v1/students/"


def test_list_is_paginated_and_hides_deleted(admin_client, tenant, make_student):
    alive = make_student(tenant, name="김철수")
    make_student(tenant, name="삭제됨", deleted_at=timezone.now())

    response = admin_client.get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [row["id"] for row in response.json()["results"]] == [alive.id]


@pytest.mark.parametrize(("query", "expected"), [
    ("name=철수", ["김철수"]),
    ("school=한빛", ["김철수"]),
    ("grade=2", ["이영희"]),
    ("school_type=HIGH", ["이영희"]),
    ("search=01099998888", ["이영희"]),
    ("search=영희", ["이영희"]),
    ("ordering=-name", ["이영희", "김철수"]),
])
def test_list_filters_search_and_ordering(admin_client, tenant, make_student, query, expected):
    make_student(tenant, name="김철수", school="한빛중", school_type="MIDDLE", grade=1)
    make_student(tenant, name="이영희", school="서울고", school_type="HIGH", grade=2, phone="01099998888")

    response = admin_client.get(f"{URL}?{query}")

    assert [row["name"] for row in response.json()["results"]] == expected


@pytest.mark.parametrize("search", [
    "010-1234", "010-1234-5678", "010 1234 5678", "010.1234.5678", "+82 10-1234-5678", "+82-10-1234-5678",
    "1234-5678", "01012345678", '"010 1234"',
])
def test_search_finds_a_phone_however_it_is_typed(admin_client, tenant, make_student, search):
    # Given a student whose own phone is 010-1234-5678 and one whose parent's phone is
    make_student(tenant, name="김철수", phone="01012345678")
    make_student(tenant, name="이영희", parent_phone="01012345678")
    make_student(tenant, name="박민수", phone="01099990000", parent_phone="01088880000")

    response = admin_client.get(URL, {"search": search, "ordering": "name"})

    assert [row["name"] for row in response.json()["results"]] == ["김철수", "이영희"]


def test_search_combines_a_name_and_a_dashed_phone(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", parent_phone="01012345678")
    make_student(tenant, name="김철수", parent_phone="01055556666")

    response = admin_client.get(URL, {"search": "김철수 010-5555"})

    assert [row["parent_phone"] for row in response.json()["results"]] == ["01055556666"]


def test_search_finds_a_school(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", school="대치중")
    make_student(tenant, name="이영희", school="서울고")

    response = admin_client.get(URL, {"search": "대치"})

    assert [row["name"] for row in response.json()["results"]] == ["김철수"]


def test_a_phone_fragment_matching_no_phone_finds_nobody(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", phone="01012345678")

    response = admin_client.get(URL, {"search": "010-9999"})

    assert response.json()["results"] == []


def test_list_filters_by_lecture(admin_client, tenant, make_student, make_lecture, make_enrollment):
    lecture = make_lecture(tenant)
    enrolled = make_student(tenant, name="김철수")
    make_student(tenant, name="이영희")
    make_enrollment(lecture, enrolled)

    response = admin_client.get(f"{URL}?lecture={lecture.id}")

    assert [row["id"] for row in response.json()["results"]] == [enrolled.id]


def test_create_normalises_phone(admin_client, tenant):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "010-1234-5678", "grade": 3}, format="json")

    assert response.status_code == 201
    assert response.json()["parent_phone"] == "01012345678"
    assert Student.objects.get(id=response.json()["id"]).tenant_id == tenant.id


def test_create_invalid_phone_is_400(admin_client):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "02-123-4567"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PHONE"
    assert response.json()["details"] == {"field": "parent_phone"}
    assert Student.objects.count() == 0


def test_create_live_twin_is_409_in_korean(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", parent_phone="01012345678")

    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"code": "STUDENT_DUPLICATE",
                               "message": "같은 이름과 학부모 전화번호로 등록된 학생이 이미 있습니다.", "details": {}}
    assert Student.objects.count() == 1


def test_create_missing_name_is_validation_error(admin_client):
    response = admin_client.post(URL, {"parent_phone": "01012345678"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "name" in response.json()["details"]


def test_retrieve_update_and_partial_update(admin_client, tenant, make_student):
    student = make_student(tenant, name="김철수", parent_phone="01012345678")

    assert admin_client.get(f"{URL}{student.id}/").json()["name"] == "김철수"
    put = admin_client.put(f"{URL}{student.id}/", {"name": "김철수", "parent_phone": "01022223333"}, format="json")
    patch = admin_client.patch(f"{URL}{student.id}/", {"memo": "수학 보충"}, format="json")

    assert put.status_code == 200 and patch.status_code == 200
    student.refresh_from_db()
    assert (student.parent_phone, student.memo) == ("01022223333", "수학 보충")


def test_delete_is_a_soft_delete(admin_client, tenant, make_student):
    student = make_student(tenant)

    response = admin_client.delete(f"{URL}{student.id}/")

    assert response.status_code == 204
    student.refresh_from_db()
    assert student.deleted_at is not None
    assert admin_client.get(f"{URL}{student.id}/").status_code == 404
    assert [row["id"] for row in admin_client.get(f"{URL}deleted/").json()["results"]] == [student.id]


def test_restore(admin_client, tenant, make_student):
    student = make_student(tenant, deleted_at=timezone.now())

    response = admin_client.post(f"{URL}{student.id}/restore/")

    assert response.status_code == 200
    assert response.json()["deleted_at"] is None
    student.refresh_from_db()
    assert student.deleted_at is None


def test_restore_of_a_live_student_is_404(admin_client, tenant, make_student):
    student = make_student(tenant)

    assert admin_client.post(f"{URL}{student.id}/restore/").status_code == 404


def test_restore_with_live_twin_is_409(admin_client, tenant, make_student):
    deleted_at = timezone.now()
    student = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=deleted_at)
    make_student(tenant, name="김철수", parent_phone="01012345678")

    response = admin_client.post(f"{URL}{student.id}/restore/")

    assert response.status_code == 409
    assert response.json()["code"] == "STUDENT_RESTORE_CONFLICT"
    assert response.json()["message"] == "같은 이름과 학부모 전화번호의 재원 학생이 있어 복원할 수 없습니다."
    student.refresh_from_db()
    assert student.deleted_at == deleted_at


def test_duplicate_check_then_fix(admin_client, tenant, make_student):
    now = timezone.now()
    newer = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now)
    oldest = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=2))

    check = admin_client.get(f"{URL}deleted_duplicates/")
    fix = admin_client.post(f"{URL}deleted_duplicates/fix/")
    again = admin_client.get(f"{URL}deleted_duplicates/")

    assert check.status_code == 200
    assert check.json()["remove_count"] == 1
    assert check.json()["groups"][0]["keep_id"] == oldest.id
    assert check.json()["groups"][0]["remove_ids"] == [newer.id]
    assert fix.json() == {"groups": 1, "deleted_ids": [newer.id], "kept_ids": [oldest.id]}
    assert list(Student.objects.values_list("id", flat=True)) == [oldest.id]
    assert again.json() == {"groups": [], "remove_count": 0}


def test_teacher_reads_and_writes_but_cannot_delete(client_for, make_user, tenant, make_student):
    teacher = client_for(make_user(tenant, Role.TEACHER))
    student = make_student(tenant)

    assert teacher.get(URL).status_code == 200
    assert teacher.patch(f"{URL}{student.id}/", {"memo": "메모"}, format="json").status_code == 200
    response = teacher.delete(f"{URL}{student.id}/")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    student.refresh_from_db()
    assert student.deleted_at is None


def test_unauthenticated_is_401(client, db):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"


GRADE_MESSAGE = ("학년이 올바르지 않습니다. 초등은 1~6학년, 중등·고등은 1~3학년이며 "
                 "'3', '2학년', '중2', '고1', '예비 고2'처럼 입력해 주세요.")


@pytest.mark.parametrize(("school_type", "grade"), [("ELEMENTARY", 9), ("MIDDLE", 7), ("HIGH", 4), ("HIGH", 10**30)])
def test_create_with_a_grade_beyond_the_school_type_is_400_invalid_grade(admin_client, school_type, grade):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "school_type": school_type,
                                       "grade": grade}, format="json")

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_GRADE", "message": GRADE_MESSAGE, "details": {"field": "grade"}}
    assert Student.objects.count() == 0


def test_patch_of_the_school_type_alone_against_the_stored_grade_is_400(admin_client, tenant, make_student):
    student = make_student(tenant, school_type="ELEMENTARY", grade=5)

    response = admin_client.patch(f"{URL}{student.id}/", {"school_type": "HIGH"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_GRADE"
    student.refresh_from_db()
    assert student.school_type == "ELEMENTARY"


@pytest.mark.parametrize(("grade", "code"), [("고이", "INVALID_GRADE"), ("대학 1", "INVALID_GRADE"),
                                             (True, "VALIDATION_ERROR"), ({"a": 1}, "VALIDATION_ERROR")])
def test_create_with_an_unknown_grade_notation_is_400(admin_client, grade, code):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "grade": grade},
                                 format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Student.objects.count() == 0


@time_machine.travel(datetime(2026, 12, 15, 10, tzinfo=UTC), tick=False)
def test_an_upcoming_grade_is_shown_as_예비_until_the_first_of_march(admin_client):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "grade": "예비 고2"},
                                 format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["school_type"], body["grade"], body["grade_starts_on"], body["grade_label"]) == (
        "HIGH", 2, "2027-03-01", "예비 고2")
    with time_machine.travel(datetime(2027, 3, 1, 0, 30, tzinfo=ZoneInfo("Asia/Seoul")), tick=False):
        assert admin_client.get(f"{URL}{body['id']}/").json()["grade_label"] == "고2"
