import pytest
from django.utils import timezone

from apps.core.models import Role
from apps.domains.enrollment.models import Attendance, Enrollment
from apps.domains.lectures.models import Lecture, Session
from apps.domains.video.models import Video, VideoState


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
    assert Lecture.objects.get(id=lecture_id).archived_at is not None


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


def test_session_hours_are_optional_and_end_after_start(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)
    url = f"/api/v1/lectures/{lecture.id}/sessions/"

    created = admin_client.post(url, {"title": "1회차", "date": "2026-03-02", "start_time": "18:00",
                                      "end_time": "19:30"}, format="json")
    untimed = admin_client.post(url, {"title": "2회차"}, format="json")
    reversed_hours = admin_client.post(url, {"start_time": "19:00", "end_time": "18:00"}, format="json")
    equal_hours = admin_client.post(url, {"start_time": "19:00", "end_time": "19:00"}, format="json")
    malformed = [admin_client.post(url, {"start_time": value}, format="json")
                 for value in ("18:00:30", "18:00Z", "24:00", "6pm")]
    session_id = created.json()["id"]
    # A PATCH is checked against the hours it leaves: moving only the end before the stored start is refused.
    end_before_start = admin_client.patch(f"/api/v1/sessions/{session_id}/", {"end_time": "17:00"}, format="json")
    moved = admin_client.patch(f"/api/v1/sessions/{session_id}/", {"start_time": "16:00", "end_time": "17:00"},
                               format="json")
    cleared = admin_client.patch(f"/api/v1/sessions/{session_id}/", {"end_time": None}, format="json")

    assert created.status_code == 201
    assert (created.json()["start_time"], created.json()["end_time"]) == ("18:00", "19:30")
    assert (untimed.json()["start_time"], untimed.json()["end_time"]) == (None, None)
    for refused in (reversed_hours, equal_hours, end_before_start):
        assert refused.status_code == 400
        assert refused.json()["code"] == "INVALID_TIME_RANGE"
    assert [(r.status_code, r.json()["code"]) for r in malformed] == [(400, "VALIDATION_ERROR")] * 4
    assert Session.objects.filter(lecture=lecture).count() == 2
    assert (moved.json()["start_time"], moved.json()["end_time"]) == ("16:00", "17:00")
    assert (cleared.json()["start_time"], cleared.json()["end_time"]) == ("16:00", None)


def test_the_database_refuses_a_session_ending_before_it_starts(tenant, make_lecture):
    from datetime import time

    from django.db import IntegrityError

    lecture = make_lecture(tenant)
    with pytest.raises(IntegrityError):
        Session.objects.create(tenant=tenant, lecture=lecture, order=1, start_time=time(19), end_time=time(18))


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


# ---------------------------------------------------------------------------
# Archive, restore, purge (docs/decisions/0005)
# ---------------------------------------------------------------------------
@pytest.fixture
def lecture_with_history(tenant, make_lecture, make_session, make_student, make_enrollment, make_attendance):
    lecture = make_lecture(tenant, title="작년 수학")
    session = make_session(lecture, title="1회차")
    enrollment = make_enrollment(lecture, make_student(tenant))
    make_attendance(session, enrollment, status="PRESENT")
    Video.objects.create(tenant=tenant, lecture=lecture, session=session, title="1강", filename="a.mp4",
                         safe_filename="a.mp4", size=10, content_type="video/mp4", state=VideoState.READY)
    return lecture


def _history_rows(lecture) -> tuple[int, int, int, int]:
    return (Session.objects.filter(lecture=lecture).count(), Enrollment.objects.filter(lecture=lecture).count(),
            Attendance.objects.filter(session__lecture=lecture).count(), Video.objects.filter(lecture=lecture).count())


def test_delete_archives_the_lecture_and_keeps_every_record(admin_client, tenant, make_lecture,
                                                             lecture_with_history):
    live = make_lecture(tenant, title="올해 수학")

    deleted = admin_client.delete(f"/api/v1/lectures/{lecture_with_history.id}/")
    listed = admin_client.get("/api/v1/lectures/")
    archived = admin_client.get("/api/v1/lectures/?archived=true")
    detail = admin_client.get(f"/api/v1/lectures/{lecture_with_history.id}/")

    assert deleted.status_code == 204
    assert _history_rows(lecture_with_history) == (1, 1, 1, 1)
    assert [row["id"] for row in listed.json()["results"]] == [live.id]
    assert [row["id"] for row in archived.json()["results"]] == [lecture_with_history.id]
    assert detail.status_code == 200
    assert detail.json()["archived_at"] is not None
    assert (detail.json()["session_count"], detail.json()["active_enrollment_count"]) == (1, 1)


def test_archiving_twice_keeps_the_first_archive_time(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)
    admin_client.delete(f"/api/v1/lectures/{lecture.id}/")
    first = Lecture.objects.get(id=lecture.id).archived_at

    again = admin_client.delete(f"/api/v1/lectures/{lecture.id}/")

    assert again.status_code == 204
    assert Lecture.objects.get(id=lecture.id).archived_at == first


def test_restore_brings_the_lecture_back_with_its_records(admin_client, lecture_with_history):
    admin_client.delete(f"/api/v1/lectures/{lecture_with_history.id}/")

    restored = admin_client.post(f"/api/v1/lectures/{lecture_with_history.id}/restore/")
    listed = admin_client.get("/api/v1/lectures/")

    assert restored.status_code == 200
    assert restored.json()["archived_at"] is None
    assert restored.json()["active_enrollment_count"] == 1
    assert [row["id"] for row in listed.json()["results"]] == [lecture_with_history.id]
    assert _history_rows(lecture_with_history) == (1, 1, 1, 1)


def test_restoring_a_live_lecture_changes_nothing(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)

    response = admin_client.post(f"/api/v1/lectures/{lecture.id}/restore/")

    assert response.status_code == 200
    assert response.json()["archived_at"] is None


def test_purge_of_a_lecture_with_history_is_refused_and_deletes_nothing(admin_client, lecture_with_history):
    admin_client.delete(f"/api/v1/lectures/{lecture_with_history.id}/")

    response = admin_client.post(f"/api/v1/lectures/{lecture_with_history.id}/purge/")

    assert response.status_code == 409
    assert response.json() == {
        "code": "LECTURE_HAS_HISTORY",
        "message": "수강 등록, 출결, 영상 기록이 남아 있는 강의는 완전히 삭제할 수 없습니다.",
        "details": {"lecture_id": lecture_with_history.id, "enrollments": 1, "attendance": 1,
                    "sessions_with_records": 1, "videos": 1},
    }
    assert Lecture.objects.filter(id=lecture_with_history.id).exists()
    assert _history_rows(lecture_with_history) == (1, 1, 1, 1)


def test_purge_of_a_live_lecture_is_refused(admin_client, tenant, make_lecture):
    lecture = make_lecture(tenant)

    response = admin_client.post(f"/api/v1/lectures/{lecture.id}/purge/")

    assert response.status_code == 409
    assert response.json()["code"] == "LECTURE_NOT_ARCHIVED"
    assert Lecture.objects.filter(id=lecture.id).exists()


def test_purge_of_an_archived_lecture_without_history_deletes_it_and_its_empty_sessions(
    admin_client, tenant, make_lecture, make_session
):
    lecture = make_lecture(tenant)
    make_session(lecture)
    deleted_video = Video.objects.create(tenant=tenant, lecture=lecture, title="지운 영상", filename="a.mp4",
                                         safe_filename="a.mp4", size=10, content_type="video/mp4",
                                         state=VideoState.DELETED)
    admin_client.delete(f"/api/v1/lectures/{lecture.id}/")

    response = admin_client.post(f"/api/v1/lectures/{lecture.id}/purge/")

    assert response.status_code == 204
    assert Lecture.objects.filter(id=lecture.id).exists() is False
    assert Session.objects.count() == 0
    deleted_video.refresh_from_db()
    assert (deleted_video.lecture_id, deleted_video.state) == (None, VideoState.DELETED)


@pytest.mark.parametrize(("method", "suffix"), [("delete", ""), ("post", "restore/"), ("post", "purge/")])
def test_another_tenants_lecture_is_404_for_archive_restore_and_purge(admin_client, other_tenant, make_lecture,
                                                                       method, suffix):
    foreign = make_lecture(other_tenant)
    foreign.archived_at = timezone.now() if suffix == "restore/" else None
    foreign.save()

    response = getattr(admin_client, method)(f"/api/v1/lectures/{foreign.id}/{suffix}")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert (foreign.archived_at is not None) == (suffix == "restore/")


@pytest.mark.parametrize(("method", "suffix"), [("delete", ""), ("post", "restore/"), ("post", "purge/")])
def test_teachers_may_not_archive_restore_or_purge(client_for, make_user, tenant, make_lecture, method, suffix):
    lecture = make_lecture(tenant, archived_at=timezone.now() if suffix else None)
    teacher = client_for(make_user(tenant, Role.TEACHER))

    response = getattr(teacher, method)(f"/api/v1/lectures/{lecture.id}/{suffix}")

    assert response.status_code == 403
    lecture.refresh_from_db()
    assert (lecture.archived_at is not None) == bool(suffix)


def test_teachers_still_read_an_archived_lecture_and_its_sessions(client_for, make_user, tenant,
                                                                  lecture_with_history):
    lecture_with_history.archived_at = timezone.now()
    lecture_with_history.save()
    teacher = client_for(make_user(tenant, Role.TEACHER))

    detail = teacher.get(f"/api/v1/lectures/{lecture_with_history.id}/")
    sessions = teacher.get(f"/api/v1/lectures/{lecture_with_history.id}/sessions/")

    assert detail.status_code == 200
    assert [row["title"] for row in sessions.json()["results"]] == ["1회차"]


def test_writes_into_an_archived_lecture_are_409(admin_client, tenant, lecture_with_history, make_student):
    lecture = lecture_with_history
    admin_client.delete(f"/api/v1/lectures/{lecture.id}/")
    session = lecture.sessions.get()
    enrollment = lecture.enrollments.get()

    responses = [
        admin_client.patch(f"/api/v1/lectures/{lecture.id}/", {"title": "새 제목"}, format="json"),
        admin_client.post(f"/api/v1/lectures/{lecture.id}/sessions/", {"title": "2회차"}, format="json"),
        admin_client.patch(f"/api/v1/sessions/{session.id}/", {"title": "바뀜"}, format="json"),
        admin_client.delete(f"/api/v1/sessions/{session.id}/"),
        admin_client.post("/api/v1/enrollments/", {"lecture_id": lecture.id, "student_id": make_student(tenant).id},
                          format="json"),
        admin_client.patch(f"/api/v1/enrollments/{enrollment.id}/", {"status": "DROPPED"}, format="json"),
        admin_client.delete(f"/api/v1/enrollments/{enrollment.id}/"),
        admin_client.post(f"/api/v1/sessions/{session.id}/attendance/",
                          [{"enrollment_id": enrollment.id, "status": "ABSENT"}], format="json"),
    ]

    assert [(r.status_code, r.json()["code"]) for r in responses] == [(409, "LECTURE_ARCHIVED")] * 8
    assert responses[0].json()["message"] == "보관된 강의는 변경할 수 없습니다. 먼저 강의를 복원해 주세요."
    lecture.refresh_from_db()
    session.refresh_from_db()
    enrollment.refresh_from_db()
    assert (lecture.title, session.title, enrollment.status) == ("작년 수학", "1회차", "ACTIVE")
    assert _history_rows(lecture) == (1, 1, 1, 1)
    assert Attendance.objects.get().status == "PRESENT"
