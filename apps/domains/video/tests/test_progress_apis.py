"""Watch progress over HTTP: me/videos/, me/videos/<id>/progress/, the staff viewing report and the playback answer's
resume position; who may call each (the permission matrix) and the constant query counts."""

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import Role
from apps.domains.enrollment.models import Enrollment
from apps.domains.video.models import Video, VideoPlaybackDevice, VideoProgress, VideoState

from .progress_support import beat_body, jwt_client, make_ready_video

pytestmark = pytest.mark.django_db

A = uuid.UUID(int=1)


@pytest.fixture
def world(tenant, other_tenant, make_lecture, make_user, enrolled_student, parent_of, local_storage):
    """A video in a lecture with a child enrolled, a second child (another family) in it too, and another academy
    with its own enrolled student and staff."""
    lecture = make_lecture(tenant, title="수학 A반")
    video = make_ready_video(tenant, lecture, duration=600.0)
    child = enrolled_student(lecture, name="김민준")
    classmate = enrolled_student(lecture, name="이서연")
    foreign_lecture = make_lecture(other_tenant, title="영어")
    foreign_student = enrolled_student(foreign_lecture, name="박외부")
    make_ready_video(other_tenant, foreign_lecture, title="외부 영상")
    return {
        "video": video, "lecture": lecture, "child": child, "classmate": classmate,
        "student": child.user, "parent": parent_of(child), "other_parent": parent_of(classmate),
        "teacher": make_user(tenant, Role.TEACHER), "foreign_student": foreign_student.user,
        "foreign_staff": make_user(other_tenant, Role.ADMIN),
    }


def call(world, actor, method, url, body=None):
    client = APIClient() if actor == "anonymous" else jwt_client(world[actor])
    return getattr(client, method)(url, body, format="json")


def answer(response):
    return response.status_code, response.json().get("code") if response.status_code >= 400 else None


# ---------------------------------------------------------------------------------------- permission matrix
@pytest.mark.parametrize(("actor", "query", "expected", "sees_video"), [
    ("student", "", (200, None), True),
    ("parent", "", (200, None), True),
    ("parent", "child", (200, None), True),
    ("other_parent", "child", (404, "NOT_FOUND"), False),
    ("other_parent", "", (200, None), True),  # their own child is in the same lecture
    ("teacher", "", (403, "ME_STUDENTS_AND_PARENTS_ONLY"), False),
    ("foreign_student", "", (200, None), False),  # their own academy's list
    ("foreign_student", "child", (404, "NOT_FOUND"), False),
    ("foreign_staff", "", (403, "ME_STUDENTS_AND_PARENTS_ONLY"), False),
    ("anonymous", "", (401, "AUTHENTICATION_REQUIRED"), False),
])
def test_me_videos_permission_matrix(world, actor, query, expected, sees_video):
    url = "/api/v1/me/videos/" + (f"?student={world['child'].id}" if query else "")
    response = call(world, actor, "get", url)

    assert answer(response) == expected
    if expected[0] == 200:
        ids = [row["id"] for row in response.json()["results"]]
        assert (world["video"].id in ids) is sees_video
        assert len(ids) == 1


@pytest.mark.parametrize(("actor", "expected"), [
    ("student", (200, None)),
    ("parent", (403, "ME_PROGRESS_STUDENT_ONLY")),
    ("other_parent", (403, "ME_PROGRESS_STUDENT_ONLY")),
    ("teacher", (403, "ME_STUDENTS_AND_PARENTS_ONLY")),
    ("foreign_student", (404, "VIDEO_NOT_FOUND")),
    ("foreign_staff", (403, "ME_STUDENTS_AND_PARENTS_ONLY")),
    ("anonymous", (401, "AUTHENTICATION_REQUIRED")),
])
def test_heartbeat_permission_matrix(world, actor, expected):
    response = call(world, actor, "post", f"/api/v1/me/videos/{world['video'].id}/progress/", beat_body(A, 1, 0.0))

    assert answer(response) == expected
    assert VideoProgress.objects.exists() is (expected[0] == 200)
    assert VideoPlaybackDevice.objects.exists() is (expected[0] == 200)


@pytest.mark.parametrize(("actor", "expected"), [
    ("teacher", (200, None)),
    ("student", (403, "PERMISSION_DENIED")),
    ("parent", (403, "PERMISSION_DENIED")),
    ("foreign_student", (403, "PERMISSION_DENIED")),
    ("foreign_staff", (404, "NOT_FOUND")),
    ("anonymous", (401, "AUTHENTICATION_REQUIRED")),
])
def test_viewers_permission_matrix(world, actor, expected):
    response = call(world, actor, "get", f"/api/v1/videos/{world['video'].id}/viewers/")

    assert answer(response) == expected


# ---------------------------------------------------------------------------------------------- heartbeats
def test_a_heartbeat_costs_two_queries_authentication_included(world, django_assert_num_queries):
    client = jwt_client(world["student"])
    url = f"/api/v1/me/videos/{world['video'].id}/progress/"
    client.post(url, beat_body(A, 1, 0.0), format="json")

    with django_assert_num_queries(2):
        response = client.post(url, beat_body(A, 2, 0.5), format="json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {"watched_seconds": 0.5, "percent": 0.1, "completed": False, "completed_at": None,
                               "last_position": 0.5, "last_watched_at": response.json()["last_watched_at"]}


def test_a_repeated_heartbeat_answers_the_same(world):
    client = jwt_client(world["student"])
    url = f"/api/v1/me/videos/{world['video'].id}/progress/"
    client.post(url, beat_body(A, 1, 0.0), format="json")
    first = client.post(url, beat_body(A, 2, 1.0), format="json")
    again = client.post(url, beat_body(A, 2, 1.0), format="json")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["watched_seconds"] == 1.0


@pytest.mark.parametrize("body", [
    {},
    {"playback_id": "not-a-uuid", "seq": 1, "position": 1},
    {"playback_id": str(A), "seq": -1, "position": 1},
    {"playback_id": str(A), "seq": 2**63, "position": 1},
    {"playback_id": str(A), "seq": 1, "position": -0.1},
    {"playback_id": str(A), "seq": 1, "position": 86401},
    {"playback_id": str(A), "seq": 1, "position": "NaN"},
    {"playback_id": str(A), "seq": 1, "position": 1, "playing": "maybe"},
])
def test_a_bad_heartbeat_is_a_400_and_records_nothing(world, body):
    response = jwt_client(world["student"]).post(f"/api/v1/me/videos/{world['video'].id}/progress/", body,
                                                 format="json")

    assert answer(response) == (400, "VALIDATION_ERROR")
    assert not VideoProgress.objects.exists()


def test_a_heartbeat_for_a_video_not_ready_or_unknown_is_a_404(world):
    client = jwt_client(world["student"])
    Video.objects.filter(id=world["video"].id).update(state=VideoState.PROCESSING)

    for video_id in (world["video"].id, 99_999_999):
        response = client.post(f"/api/v1/me/videos/{video_id}/progress/", beat_body(A, 1, 0.0), format="json")
        assert answer(response) == (404, "VIDEO_NOT_FOUND")


# ---------------------------------------------------------------------------------------------- me/videos
def test_me_videos_lists_the_playable_videos_of_active_enrollments_with_progress(
        world, tenant, make_lecture, make_session, enrolled_student, local_storage):
    lecture, child = world["lecture"], world["child"]
    session = make_session(lecture, title="3월 2주")
    with_thumbnail = make_ready_video(tenant, lecture, title="2강", duration=100.0, session=session,
                                      thumbnail_key=f"tenants/{tenant.id}/video/hls/9/thumbnail.jpg")
    processing = make_ready_video(tenant, lecture, title="변환 중")
    Video.objects.filter(id=processing.id).update(state=VideoState.PROCESSING)
    archived = make_lecture(tenant, title="보관된 강의", archived_at=timezone.now())
    Enrollment.objects.create(tenant=tenant, lecture=archived, student=child)
    make_ready_video(tenant, archived, title="보관된 영상")
    dropped = make_lecture(tenant, title="그만둔 강의")
    Enrollment.objects.create(tenant=tenant, lecture=dropped, student=child, status="DROPPED")
    make_ready_video(tenant, dropped, title="그만둔 영상")
    make_ready_video(tenant, make_lecture(tenant, title="남의 강의"), title="남의 영상")
    VideoProgress.objects.create(tenant=tenant, video=with_thumbnail, student=child, watched="{[0,950)}",
                                 watched_tenths=950, last_position=95.0, last_watched_at=timezone.now(),
                                 completed_at=timezone.now())
    VideoProgress.objects.create(tenant=tenant, video=with_thumbnail, student=world["classmate"],
                                 watched="{[0,10)}", watched_tenths=10, last_position=1.0,
                                 last_watched_at=timezone.now())

    response = jwt_client(world["student"]).get("/api/v1/me/videos/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    newest, oldest = body["results"]
    assert (newest["title"], newest["lecture_title"], newest["session_title"]) == ("2강", "수학 A반", "3월 2주")
    assert newest["thumbnail_url"].startswith("http://testserver/api/v1/storage/")
    assert newest["progress"]["watched_seconds"] == 95.0
    assert (newest["progress"]["percent"], newest["progress"]["completed"]) == (95.0, True)
    assert newest["progress"]["last_position"] == 95.0
    assert oldest["id"] == world["video"].id
    assert (oldest["thumbnail_url"], oldest["session_id"], oldest["duration_seconds"]) == (None, None, 600.0)
    assert oldest["progress"] == {"watched_seconds": 0.0, "percent": 0.0, "completed": False, "completed_at": None,
                                  "last_position": None, "last_watched_at": None}


@pytest.mark.parametrize("actor", ["student", "parent"])
def test_me_videos_pages_cost_the_same_for_3_and_30_videos(world, tenant, actor):
    lecture, child = world["lecture"], world["child"]
    client = jwt_client(world[actor])

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/me/videos/?page_size=50")
        assert response.status_code == 200
        return len(captured), response.json()["count"]

    for n in range(2):
        video = make_ready_video(tenant, lecture, title=f"영상 {n}", thumbnail_key=f"t/{n}.jpg")
        VideoProgress.objects.create(tenant=tenant, video=video, student=child, watched_tenths=5,
                                     last_watched_at=timezone.now())
    few = count_queries()
    for n in range(2, 29):
        video = make_ready_video(tenant, lecture, title=f"영상 {n}", thumbnail_key=f"t/{n}.jpg")
        VideoProgress.objects.create(tenant=tenant, video=video, student=child, watched_tenths=5,
                                     last_watched_at=timezone.now())
    many = count_queries()

    expected = 3 if actor == "student" else 4  # user, count, page (+ the parent's child)
    assert (few, many) == ((expected, 3), (expected, 30))


# ---------------------------------------------------------------------------------------------- viewers
def test_the_viewing_report_lists_every_active_student_with_their_progress(world, tenant, enrolled_student):
    video, lecture = world["video"], world["lecture"]
    never = enrolled_student(lecture, name="가나다")  # enrolled, never watched: 0%
    dropped = enrolled_student(lecture, name="탈퇴생", status="DROPPED")
    deleted = enrolled_student(lecture, name="삭제생")
    deleted.deleted_at = timezone.now()
    deleted.save(update_fields=["deleted_at"])
    now = timezone.now()
    VideoProgress.objects.create(tenant=tenant, video=video, student=world["child"], watched_tenths=5500,
                                 last_position=550.0, last_watched_at=now, completed_at=now)
    VideoProgress.objects.create(tenant=tenant, video=video, student=world["classmate"], watched_tenths=600,
                                 last_position=60.0, last_watched_at=now)
    VideoProgress.objects.create(tenant=tenant, video=video, student=dropped, watched_tenths=6000,
                                 last_watched_at=now)
    client = jwt_client(world["teacher"])

    by_name = client.get(f"/api/v1/videos/{video.id}/viewers/").json()
    by_percent = client.get(f"/api/v1/videos/{video.id}/viewers/?ordering=-percent").json()

    assert by_name["count"] == 3
    assert [r["student_name"] for r in by_name["results"]] == ["가나다", "김민준", "이서연"]
    assert [(r["student_id"], r["progress"]["percent"], r["progress"]["completed"])
            for r in by_percent["results"]] == [(world["child"].id, 91.7, True), (world["classmate"].id, 10.0, False),
                                                (never.id, 0.0, False)]
    assert by_percent["results"][2]["progress"]["last_watched_at"] is None


def test_the_viewing_report_refuses_an_unknown_ordering(world):
    response = jwt_client(world["teacher"]).get(f"/api/v1/videos/{world['video'].id}/viewers/?ordering=phone")

    assert answer(response) == (400, "VALIDATION_ERROR")


def test_the_viewing_report_costs_the_same_for_3_and_30_students(world, tenant, enrolled_student):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    video, lecture = world["video"], world["lecture"]
    client = jwt_client(world["teacher"])

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/api/v1/videos/{video.id}/viewers/?ordering=last_watched_at")
        assert response.status_code == 200
        return len(captured), response.json()["count"]

    enrolled_student(lecture, name="학생 0")
    few = count_queries()
    for n in range(1, 28):
        student = enrolled_student(lecture, name=f"학생 {n}")
        VideoProgress.objects.create(tenant=tenant, video=video, student=student, watched_tenths=n,
                                     last_watched_at=timezone.now())
    many = count_queries()

    assert (few, many) == ((4, 3), (4, 30))  # user, video, count, page


# ---------------------------------------------------------------------------------------------- playback
def test_the_playback_answer_carries_the_students_resume_position(world, tenant, django_assert_max_num_queries):
    video = world["video"]
    url = f"/api/v1/videos/{video.id}/playback/"
    student = jwt_client(world["student"])
    assert student.get(url).json()["resume_position"] is None  # never played

    VideoProgress.objects.create(tenant=tenant, video=video, student=world["child"], last_position=123.5,
                                 last_watched_at=timezone.now())
    VideoProgress.objects.create(tenant=tenant, video=video, student=world["classmate"], last_position=42.0,
                                 last_watched_at=timezone.now())
    with django_assert_max_num_queries(4):  # user, video, enrollment, progress
        response = student.get(url)
    assert response.json()["resume_position"] == 123.5
    assert jwt_client(world["teacher"]).get(url).json()["resume_position"] is None

    VideoProgress.objects.filter(student=world["child"]).update(last_position=597.0)  # at the end: start over
    assert student.get(url).json()["resume_position"] is None
