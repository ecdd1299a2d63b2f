import uuid

import pytest
from django.utils import timezone

from apps.core.exceptions import ConflictError, DomainError, NotFoundError
from apps.domains.video import services
from apps.domains.video.models import Video, VideoState

GB = 1024**3


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant)


@pytest.fixture
def create(tenant, admin_user, lecture):
    def make(**overrides) -> Video:
        fields = {"tenant": tenant, "created_by": admin_user, "title": "1강 함수의 극한", "lecture": lecture,
                  "session": None, "filename": "1강.mp4", "size": 300 * 1024**2, "content_type": "video/mp4"}
        fields.update(overrides)
        return services.video_create(**fields)

    return make


@pytest.fixture
def make_session():
    from apps.domains.lectures.models import Session

    def make(lecture, order: int = 1) -> Session:
        return Session.objects.create(tenant=lecture.tenant, lecture=lecture, order=order, title=f"{order}회차")

    return make


# ---------------------------------------------------------------------------
# video_create
# ---------------------------------------------------------------------------
def test_video_create_makes_a_pending_upload_with_tenant_scoped_keys(create, tenant, lecture, admin_user):
    video = create(filename="../../수업 녹화/Lecture #1 (final).MOV")

    video.refresh_from_db()
    assert video.state == VideoState.PENDING_UPLOAD
    assert (video.tenant_id, video.lecture_id, video.created_by_id) == (tenant.id, lecture.id, admin_user.id)
    assert video.filename == "../../수업 녹화/Lecture #1 (final).MOV"
    assert video.safe_filename == "Lecture_1_final.mov"
    assert video.raw_key == f"raw/tenants/{tenant.id}/video/{video.id}/Lecture_1_final.mov"
    assert video.hls_prefix == f"tenants/{tenant.id}/video/hls/{video.id}/"
    assert (video.upload_id, video.current_job_id, video.renditions) == ("", None, [])


@pytest.mark.parametrize(("filename", "expected"), [
    ("강의.mp4", "video.mp4"),
    ("강의 1.mp4", "1.mp4"),
    ("C:\\Users\\kim\\a b.MP4", "a_b.mp4"),
    ("/etc/passwd.mkv", "passwd.mkv"),
    ("café..webm", "cafe.webm"),
    ("...hidden.mp4", "hidden.mp4"),
    ("noext", "noext"),
    ("", "video"),
    ("a" * 300 + ".mp4", "a" * 100 + ".mp4"),
])
def test_safe_filename_is_ascii_without_path_and_keeps_the_extension(filename, expected):
    assert services.safe_filename(filename) == expected


def test_video_create_refuses_a_declared_size_over_the_limit(create, settings):
    settings.VIDEO_MAX_UPLOAD_BYTES = 20 * GB

    with pytest.raises(DomainError) as error:
        create(size=20 * GB + 1)

    assert error.value.code == "VIDEO_TOO_LARGE"
    assert error.value.details == {"max_bytes": 20 * GB, "size": 20 * GB + 1}
    assert Video.objects.count() == 0


@pytest.mark.parametrize("size", [0, -1, "100"])
def test_video_create_refuses_a_missing_or_bad_size(create, size):
    with pytest.raises(DomainError) as error:
        create(size=size)

    assert error.value.code == "VIDEO_INVALID_SIZE"
    assert Video.objects.count() == 0


@pytest.mark.parametrize(("filename", "content_type"), [
    ("notes.pdf", "application/pdf"),
    ("slides.txt", "application/octet-stream"),
    ("clip", ""),
    ("song.mp3", "audio/mpeg"),
])
def test_video_create_refuses_what_is_not_a_video(create, filename, content_type):
    with pytest.raises(DomainError) as error:
        create(filename=filename, content_type=content_type)

    assert error.value.code == "VIDEO_INVALID_TYPE"
    assert Video.objects.count() == 0


@pytest.mark.parametrize(("filename", "content_type"), [
    ("lecture.mov", "video/quicktime"),
    ("lecture.MP4", "application/octet-stream"),
    ("lecture.mkv", ""),
    ("lecture.bin", "video/mp4; codecs=avc1"),
])
def test_video_create_accepts_video_types_and_generic_types_with_a_video_extension(create, filename, content_type):
    video = create(filename=filename, content_type=content_type)

    assert video.state == VideoState.PENDING_UPLOAD


def test_video_create_refuses_another_tenants_lecture_as_not_found(create, make_lecture, other_tenant):
    with pytest.raises(NotFoundError) as error:
        create(lecture=make_lecture(other_tenant))

    assert error.value.code == "LECTURE_NOT_FOUND"
    assert Video.objects.count() == 0


def test_video_create_refuses_an_archived_lecture(create, lecture):
    lecture.archived_at = timezone.now()
    lecture.save()

    with pytest.raises(ConflictError) as error:
        create(lecture=lecture)

    assert error.value.code == "LECTURE_ARCHIVED"
    assert Video.objects.count() == 0


def test_video_create_requires_a_lecture_or_a_session(create):
    with pytest.raises(DomainError) as error:
        create(lecture=None, session=None)

    assert error.value.code == "VIDEO_TARGET_REQUIRED"
    assert Video.objects.count() == 0


def test_video_create_with_only_a_session_takes_its_lecture(create, lecture, make_session):
    session = make_session(lecture)

    video = create(lecture=None, session=session)

    assert (video.lecture_id, video.session_id) == (lecture.id, session.id)


def test_video_create_refuses_a_session_of_another_lecture(create, lecture, make_lecture, tenant, make_session):
    session = make_session(make_lecture(tenant, title="영어 B반"))

    with pytest.raises(DomainError) as error:
        create(lecture=lecture, session=session)

    assert error.value.code == "VIDEO_SESSION_MISMATCH"
    assert Video.objects.count() == 0


# ---------------------------------------------------------------------------
# Guarded transitions
# ---------------------------------------------------------------------------
def test_the_happy_path_goes_pending_uploaded_processing_ready(create):
    video = create()
    job_id = uuid.uuid4()
    services.video_set_upload_id(video=video, upload_id="mp-1")

    uploaded = services.video_mark_uploaded(video=video, job_id=job_id)
    processing = services.video_mark_processing(video=video)
    ready = services.video_mark_ready(video=video, renditions=[{"name": "720p"}], duration=12.5, width=1280,
                                      height=720, thumbnail_key="thumbnail.jpg")

    assert (uploaded.won, processing.won, ready.won) == (True, True, True)
    video.refresh_from_db()
    assert video.state == VideoState.READY
    assert (video.upload_id, video.current_job_id) == ("", job_id)
    assert (video.duration_seconds, video.width, video.height) == (12.5, 1280, 720)
    assert (video.renditions, video.thumbnail_key) == ([{"name": "720p"}], "thumbnail.jpg")


def test_upload_complete_twice_wins_once(create):
    video = create()

    first = services.video_mark_uploaded(video=video, job_id=uuid.uuid4())
    second = services.video_mark_uploaded(video=video, job_id=uuid.uuid4())

    assert (first.won, second.won) == (True, False)
    video.refresh_from_db()
    assert video.current_job_id is not None and video.current_job_id == first.video.current_job_id


def test_a_ready_video_cannot_go_back_to_processing_or_failed(create):
    video = create()
    services.video_mark_uploaded(video=video)
    services.video_mark_ready(video=video, renditions=[], duration=3.0)
    before = Video.objects.get(pk=video.pk).updated_at

    processing = services.video_mark_processing(video=video, job_id=uuid.uuid4())
    failed = services.video_mark_failed(video=video, code="TRANSCODE_FAILED", message="실패")

    assert (processing.won, failed.won) == (False, False)
    video.refresh_from_db()
    assert (video.state, video.current_job_id, video.error_code) == (VideoState.READY, None, "")
    assert video.updated_at == before


def test_a_pending_upload_cannot_start_processing(create):
    video = create()

    result = services.video_mark_processing(video=video)

    assert result.won is False
    assert result.video.state == VideoState.PENDING_UPLOAD


def test_failure_records_the_code_and_a_retry_resets_it(create):
    video = create()
    services.video_mark_uploaded(video=video)
    services.video_mark_processing(video=video)

    failed = services.video_mark_failed(video=video, code="DISK_FULL", message="작업 디스크 공간이 부족합니다.")
    assert failed.won and (failed.video.state, failed.video.error_code) == (VideoState.FAILED, "DISK_FULL")

    job_id = uuid.uuid4()
    retried = services.video_reset_for_retry(video=video, job_id=job_id)

    assert retried.won
    assert (retried.video.state, retried.video.error_code, retried.video.error_message) == (
        VideoState.UPLOADED, "", "")
    assert retried.video.current_job_id == job_id
    assert services.video_reset_for_retry(video=video).won is False


def test_a_deleted_video_never_comes_back(create):
    video = create()
    services.video_mark_uploaded(video=video)

    deleted = services.video_mark_deleted(video=video)
    revived = [
        services.video_mark_processing(video=video),
        services.video_mark_ready(video=video, renditions=[], duration=1.0),
        services.video_mark_failed(video=video, code="X", message="x"),
        services.video_mark_deleted(video=video),
    ]

    assert deleted.won
    assert [r.won for r in revived] == [False, False, False, False]
    video.refresh_from_db()
    assert video.state == VideoState.DELETED
