from apps.core.models import Role
from apps.domains.enrollment.models import Enrollment
from apps.domains.lectures.models import Lecture, Session


def test_lecture_crud(admin_client, tenant, make_user):
    teacher = make_user(tenant, Role.TEACHER, first_name="민수")

    created = admin_client.post("/api/v1/lectures/", {"title": "수학 A반", "subject": "수학",
                                                      "teacher_id": teacher.id}, format="json")
    lecture_id = created.json()["id"]
    listed = admin_client.get("/api/v1/lectures/?search=수학")
    patched = admin_client.patch(f"/api/v1/lectures/{lecture_id}/", {"title": "수학 B반"}, format="json")
    deleted = admin_client.delete(f"/api/v1/lectures/{lecture_id}/")

    assert created.status_code == 201
    assert created.json()["teacher_name"] == "민수"
    assert [row["id"] for row in listed.json()["results"]] == [lecture_id]
    assert listed.json()["results"][0]["session_count"] == 0
    assert patched.json()["title"] == "수학 B반"
    assert deleted.status_code == 204
    assert Lecture.objects.count() == 0


def test_lecture_list_counts_sessions_and_active_enrollments(admin_client, tenant, make_lecture, make_session,
                                                             make_student, make_enrollment):
    lecture = make_lecture(tenant)
    make_session(lecture)
    make_session(lecture)
    make_enrollment(lecture, make_student(tenant))
    make_enrollment(lecture, make_student(tenant), status="DROPPED")

    row = admin_client.get("/api/v1/lectures/").json()["results"][0]

    assert (row["session_count"], row["active_enrollment_count"]) == (2, 1)


def test_sessions_nested_under_lecture(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)
    url = f"/api/v1/lectures/{lecture.id}/sessions/"

    first = admin_client.post(url, {"title": "1회차", "date": "2026-03-02"}, format="json")
    second = admin_client.post(url, {"title": "2회차"}, format="json")
    clash = admin_client.post(url, {"order": 1}, format="json")
    listed = admin_client.get(url)

    assert (first.json()["order"], second.json()["order"]) == (1, 2)
    assert clash.status_code == 409
    assert clash.json()["code"] == "SESSION_ORDER_TAKEN"
    assert [row["title"] for row in listed.json()["results"]] == ["1회차", "2회차"]


def test_session_detail_update_delete(admin_client, tenant, make_lecture, make_session):
    session = make_session(make_lecture(tenant), title="1회차")

    assert admin_client.get(f"/api/v1/sessions/{session.id}/").json()["title"] == "1회차"
    assert admin_client.patch(f"/api/v1/sessions/{session.id}/", {"title": "개강"},
                              format="json").json()["title"] == "개강"
    assert admin_client.delete(f"/api/v1/sessions/{session.id}/").status_code == 204
    assert Session.objects.count() == 0


def test_foreign_teacher_in_body_is_404_and_nothing_created(admin_client, other_tenant, make_user):
    foreign = make_user(other_tenant, Role.TEACHER)

    response = admin_client.post("/api/v1/lectures/", {"title": "수학", "teacher_id": foreign.id}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "TEACHER_NOT_FOUND"
    assert Lecture.objects.count() == 0


def test_teacher_cannot_delete_a_lecture(client_for, make_user, tenant, make_lecture, make_student,
                                         make_enrollment):
    lecture = make_lecture(tenant)
    make_enrollment(lecture, make_student(tenant))
    teacher = client_for(make_user(tenant, Role.TEACHER))

    response = teacher.delete(f"/api/v1/lectures/{lecture.id}/")

    assert response.status_code == 403
    assert Lecture.objects.filter(id=lecture.id).exists()
    assert Enrollment.objects.count() == 1
