"""The academy's 8-digit student number through the students API: set, folded, refused, unique per tenant, cleared."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.domains.students.models import Student

URL = "/api/v1/students/"


def test_create_with_a_number_and_full_width_digits_are_folded(admin_client):
    plain = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "student_number": "20250001"},
                              format="json")
    wide = admin_client.post(URL, {"name": "이영희", "parent_phone": "01012345679",
                                   "student_number": " ２０２５０００２ "}, format="json")

    assert (plain.status_code, plain.json()["student_number"]) == (201, "20250001")
    assert (wide.status_code, wide.json()["student_number"]) == (201, "20250002")
    assert Student.objects.get(id=wide.json()["id"]).student_number == "20250002"


def test_a_student_without_a_number_has_a_blank_one(admin_client):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678"}, format="json")

    assert response.json()["student_number"] == ""


@pytest.mark.parametrize("number", ["1234567", "123456789", "2025-0001", "2025 0001", "abcdefgh", "١٢٣٤٥٦٧٨",
                                    "12345678\n9", "-1234567"])
def test_anything_but_8_digits_is_400_invalid_student_number(admin_client, number):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "student_number": number},
                                 format="json")

    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_STUDENT_NUMBER", "message": "학생번호는 숫자 8자리여야 합니다.",
                               "details": {}}
    assert not Student.objects.exists()


@pytest.mark.parametrize("number", [None, ["12345678"], {"n": "12345678"}, "1" * 31])
def test_a_number_that_is_not_a_short_string_is_400(admin_client, number):
    response = admin_client.post(URL, {"name": "김철수", "parent_phone": "01012345678", "student_number": number},
                                 format="json")

    assert response.status_code == 400
    assert not Student.objects.exists()


def test_a_number_taken_in_the_tenant_is_409(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", student_number="20250001")

    response = admin_client.post(URL, {"name": "이영희", "parent_phone": "01012345678", "student_number": "20250001"},
                                 format="json")

    assert response.status_code == 409
    assert response.json() == {"code": "STUDENT_NUMBER_TAKEN", "message": "같은 학생번호를 쓰는 학생이 이미 있습니다.",
                               "details": {}}
    assert Student.objects.count() == 1


def test_patch_to_another_students_number_is_409_and_keeping_ones_own_is_fine(admin_client, tenant, make_student):
    make_student(tenant, name="김철수", student_number="20250001")
    lee = make_student(tenant, name="이영희", student_number="20250002")

    taken = admin_client.patch(f"{URL}{lee.id}/", {"student_number": "２０２５０００１"}, format="json")
    own = admin_client.patch(f"{URL}{lee.id}/", {"student_number": "20250002", "memo": "수학"}, format="json")

    assert (taken.status_code, taken.json()["code"]) == (409, "STUDENT_NUMBER_TAKEN")
    assert own.status_code == 200
    lee.refresh_from_db()
    assert (lee.student_number, lee.memo) == ("20250002", "수학")


def test_the_same_number_in_another_academy_or_on_a_deleted_student_is_free(admin_client, tenant, other_tenant,
                                                                            make_student):
    make_student(other_tenant, name="김철수", student_number="20250001")
    make_student(tenant, name="박민수", student_number="20250001", deleted_at=timezone.now())

    response = admin_client.post(URL, {"name": "이영희", "parent_phone": "01012345678", "student_number": "20250001"},
                                 format="json")

    assert (response.status_code, response.json()["student_number"]) == (201, "20250001")


def test_clearing_the_number_frees_it(admin_client, tenant, make_student):
    kim = make_student(tenant, name="김철수", student_number="20250001")
    lee = make_student(tenant, name="이영희")

    cleared = admin_client.patch(f"{URL}{kim.id}/", {"student_number": ""}, format="json")
    reused = admin_client.patch(f"{URL}{lee.id}/", {"student_number": "20250001"}, format="json")

    assert (cleared.status_code, cleared.json()["student_number"]) == (200, "")
    assert (reused.status_code, reused.json()["student_number"]) == (200, "20250001")
    # Blank numbers never collide with one another.
    assert admin_client.patch(f"{URL}{lee.id}/", {"student_number": ""}, format="json").status_code == 200
    assert Student.objects.filter(student_number="").count() == 2


def test_restoring_a_student_whose_number_was_given_away_is_409(admin_client, tenant, make_student):
    deleted = make_student(tenant, name="김철수", student_number="20250001", deleted_at=timezone.now())
    make_student(tenant, name="이영희", student_number="20250001")

    response = admin_client.post(f"{URL}{deleted.id}/restore/")

    assert (response.status_code, response.json()["code"]) == (409, "STUDENT_NUMBER_TAKEN")
    deleted.refresh_from_db()
    assert deleted.deleted_at is not None


def test_the_database_refuses_a_live_duplicate_and_a_malformed_number(tenant, make_student):
    make_student(tenant, name="김철수", student_number="20250001")

    with pytest.raises(IntegrityError, match="uniq_live_student_number_per_tenant"), transaction.atomic():
        make_student(tenant, name="이영희", student_number="20250001")
    with pytest.raises(IntegrityError, match="student_number_8_digits"), transaction.atomic():
        make_student(tenant, name="박민수", student_number="2025001")


def test_a_race_past_the_check_is_still_409(admin_client, tenant, make_student, monkeypatch):
    # A concurrent request committing the number between the check and the save: the constraint answers.
    make_student(tenant, name="김철수", student_number="20250001")
    monkeypatch.setattr("apps.domains.students.services.student_number_taken", lambda **kwargs: False)

    response = admin_client.post(URL, {"name": "이영희", "parent_phone": "01012345678", "student_number": "20250001"},
                                 format="json")

    assert (response.status_code, response.json()["code"]) == (409, "STUDENT_NUMBER_TAKEN")
