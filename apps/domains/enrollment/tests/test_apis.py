import pytest

from apps.core.models import Role
from apps.domains.enrollment.models import Attendance, Enrollment


def test_create_list_filter_update_delete(admin_client, tenant, make_lecture, make_student):
    math, english = make_lecture(tenant, title="수학"), make_lecture(tenant, title="영어")
    student = make_student(tenant, name="김철수")

    created = admin_client.post("/api/v1/enrollments/", {"lecture_id": math.id, "student_id": student.id},
                                format="json")
    admin_client.post("/api/v1/enrollments/", {"lecture_id": english.id, "student_id": student.id}, format="json")
    filtered = admin_client.get(f"/api/v1/enrollments/?lecture={math.id}&status=ACTIVE")
    enrollment_id = created.json()["id"]
    patched = admin_client.patch(f"/api/v1/enrollments/{enrollment_id}/", {"status": "PAUSED"}, format="json")
    deleted = admin_client.delete(f"/api/v1/enrollments/{enrollment_id}/")

    assert created.status_code == 201
    assert created.json()["student_name"] == "김철수"
    assert [row["id"] for row in filtered.json()["results"]] == [enrollment_id]
    assert patched.json()["status"] == "PAUSED"
    assert deleted.status_code == 204
    assert list(Enrollment.objects.values_list("lecture_id", flat=True)) == [english.id]


def test_duplicate_enrollment_is_409(admin_client, tenant, make_lecture, make_student, make_enrollment):
    lecture, student = make_lecture(tenant), make_student(tenant)
    make_enrollment(lecture, student)

    response = admin_client.post("/api/v1/enrollments/", {"lecture_id": lecture.id, "student_id": student.id},
                                 format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "ENROLLMENT_EXISTS"


def test_enrollment_search_finds_a_dashed_parent_phone(admin_client, tenant, make_lecture, make_student,
                                                      make_enrollment):
    lecture = make_lecture(tenant)
    wanted = make_enrollment(lecture, make_student(tenant, name="김철수", parent_phone="01012345678"))
    make_enrollment(lecture, make_student(tenant, name="이영희", parent_phone="01055556666"))

    response = admin_client.get("/api/v1/enrollments/", {"search": "010-1234-5678"})

    assert [row["id"] for row in response.json()["results"]] == [wanted.id]


@pytest.fixture
def classroom(tenant, make_lecture, make_session, make_student, make_enrollment):
    lecture = make_lecture(tenant)
    session = make_session(lecture)
    return session, [make_enrollment(lecture, make_student(tenant, name=n)) for n in ("김철수", "이영희")]


def test_attendance_bulk_update_and_list(client_for, make_user, tenant, classroom):
    session, (first, second) = classroom
    teacher = client_for(make_user(tenant, Role.TEACHER))
    url = f"/api/v1/sessions/{session.id}/attendance/"

    posted = teacher.post(url, [{"enrollment_id": first.id, "status": "PRESENT"},
                                {"enrollment_id": second.id, "status": "LATE"}], format="json")
    listed = teacher.get(url)

    assert posted.status_code == 200
    assert [(r["student_name"], r["status"]) for r in listed.json()] == [("김철수", "PRESENT"), ("이영희", "LATE")]


def test_attendance_bulk_update_answers_in_queries_independent_of_the_row_count(admin_client, classroom,
                                                                                  django_assert_num_queries):
    session, (first, second) = classroom
    items = [{"enrollment_id": first.id, "status": "PRESENT"}, {"enrollment_id": second.id, "status": "LATE"}]

    # The session, the savepoint and its release, the enrollment check, the upsert, the answer's rows with students;
    # then the parents' notices (messaging/notices.py): the enabled switches, the withdrawal of unsent ones.
    with django_assert_num_queries(8):
        response = admin_client.post(f"/api/v1/sessions/{session.id}/attendance/", items, format="json")

    assert [(r["student_name"], r["status"]) for r in response.json()] == [("김철수", "PRESENT"), ("이영희", "LATE")]


def test_attendance_invalid_status_is_400(admin_client, classroom):
    session, (first, _) = classroom

    response = admin_client.post(f"/api/v1/sessions/{session.id}/attendance/",
                                 [{"enrollment_id": first.id, "status": "SLEEPING"}], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert Attendance.objects.count() == 0


def test_attendance_empty_body_is_400(admin_client, classroom):
    session, _ = classroom

    response = admin_client.post(f"/api/v1/sessions/{session.id}/attendance/", [], format="json")

    assert response.status_code == 400


def test_student_role_cannot_take_attendance(client_for, make_user, tenant, classroom):
    session, (first, _) = classroom
    student = client_for(make_user(tenant, Role.STUDENT))

    response = student.post(f"/api/v1/sessions/{session.id}/attendance/",
                            [{"enrollment_id": first.id, "status": "PRESENT"}], format="json")

    assert response.status_code == 403
    assert Attendance.objects.count() == 0


def test_teacher_cannot_delete_an_enrollment(client_for, make_user, tenant, classroom):
    _, (first, _) = classroom
    teacher = client_for(make_user(tenant, Role.TEACHER))

    response = teacher.delete(f"/api/v1/enrollments/{first.id}/")

    assert response.status_code == 403
    assert Enrollment.objects.filter(id=first.id).exists()


def test_attendance_unmarked_takes_back_a_mistaken_mark(admin_client, classroom):
    # Given a student marked ABSENT by mistake
    session, (first, second) = classroom
    url = f"/api/v1/sessions/{session.id}/attendance/"
    admin_client.post(url, [{"enrollment_id": first.id, "status": "ABSENT"},
                            {"enrollment_id": second.id, "status": "PRESENT"}], format="json")

    # When the mark is taken back
    response = admin_client.post(url, [{"enrollment_id": first.id, "status": "UNMARKED"}], format="json")

    # Then that row waits to be marked again and the other mark is untouched
    assert response.status_code == 200
    assert [(r["enrollment_id"], r["status"]) for r in response.json()] == [(first.id, "UNMARKED")]
    assert sorted(Attendance.objects.values_list("enrollment_id", "status")) == [(first.id, "UNMARKED"),
                                                                                   (second.id, "PRESENT")]


def test_the_schema_lists_unmarked_among_the_attendance_statuses(client, db):
    schema = client.get("/api/schema/?format=json").json()

    assert schema["components"]["schemas"]["AttendanceStatusEnum"]["enum"] == [
        "UNMARKED", "PRESENT", "ABSENT", "LATE", "EXCUSED"]
