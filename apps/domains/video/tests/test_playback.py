"""Playback: who may watch (enrolled student, staff; not another student, not another tenant), and the signed
playlists (variant URIs → signed API URLs, segment URIs → presigned GETs, tampered or expired tokens → 403)."""

from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from apps.core.models import Role
from apps.domains.enrollment.models import EnrollmentStatus
from apps.domains.video import playback
from apps.domains.video.models import Video, VideoState

MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"
v1/index.m3u8
"""
VARIANT = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:6.000000,
seg_00000.ts
#EXTINF:2.500000,
seg_00001.ts
#EXT-X-ENDLIST
"""


@pytest.fixture(autouse=True)
def fresh_playlist_cache(empty_redis):
    """On Redis, empty_redis already removed this test process's keys: cache.clear() is FLUSHDB, which also wiped
    the other xdist worker's keys mid-test (its login-throttle counters, the scheduler heartbeat). Process memory
    is cleared here."""
    if empty_redis is None:
        cache.clear()
    yield


@pytest.fixture
def ready_video(tenant, lecture, local_storage):
    video = Video.objects.create(tenant=tenant, lecture=lecture, title="1강", filename="a.mp4", safe_filename="a.mp4",
                                 size=10, content_type="video/mp4", state=VideoState.READY)
    Video.objects.filter(id=video.id).update(hls_prefix=f"tenants/{tenant.id}/video/hls/{video.id}/")
    video.refresh_from_db()
    local_storage.put("video", video.hls_prefix + "master.m3u8", MASTER.encode())
    for rendition in ("v0", "v1"):
        local_storage.put("video", f"{video.hls_prefix}{rendition}/index.m3u8", VARIANT.encode())
        for n in range(2):
            local_storage.put("video", f"{video.hls_prefix}{rendition}/seg_{n:05d}.ts", f"{rendition}-{n}".encode())
    return video


@pytest.fixture
def student_user(make_user, make_student, tenant):
    def make(lecture=None, status=EnrollmentStatus.ACTIVE, owner=None):
        owner = owner or tenant
        user = make_user(owner, Role.STUDENT)
        student = make_student(owner, user=user)
        if lecture is not None:
            from apps.domains.enrollment.models import Enrollment

            Enrollment.objects.create(tenant=owner, lecture=lecture, student=student, status=status)
        return user

    return make


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _playback(client, video):
    return client.get(f"/api/v1/videos/{video.id}/playback/")


# ---------------------------------------------------------------------------
# Who may watch
# ---------------------------------------------------------------------------
def test_an_enrolled_student_gets_a_signed_master_playlist_url(client_for, student_user, lecture, ready_video,
                                                               settings):
    user = student_user(lecture)

    response = _playback(client_for(user), ready_video)

    assert response.status_code == 200
    body = response.json()
    prefix = f"http://testserver/api/v1/videos/{ready_video.id}/hls/"
    assert body["url"].startswith(prefix) and body["url"].endswith("/master.m3u8")
    token = body["url"][len(prefix):-len("/master.m3u8")]
    grant = playback.playback_token_read(token, video_id=ready_video.id)
    assert grant.user_id == user.id
    lifetime = settings.VIDEO_PLAYBACK_URL_EXPIRES_SECONDS
    assert lifetime - 5 <= grant.remaining <= lifetime
    assert response["Cache-Control"] == "no-store"


def test_staff_of_the_tenant_may_watch_without_an_enrollment(teacher_client, ready_video):
    assert _playback(teacher_client, ready_video).status_code == 200


@pytest.mark.parametrize("enrollment", ["none", "other_lecture", EnrollmentStatus.DROPPED, EnrollmentStatus.PAUSED])
def test_a_student_without_an_active_enrollment_in_the_lecture_is_403(client_for, student_user, make_lecture, tenant,
                                                                      lecture, ready_video, enrollment):
    if enrollment == "none":
        user = student_user()
    elif enrollment == "other_lecture":
        user = student_user(make_lecture(tenant, "화학"))
    else:
        user = student_user(lecture, status=enrollment)

    response = _playback(client_for(user), ready_video)

    assert response.status_code == 403
    assert response.json()["code"] == "VIDEO_NOT_ENROLLED"
    assert "url" not in response.json()


def test_another_tenants_staff_and_students_get_404(client_for, make_user, student_user, other_tenant, ready_video):
    staff = make_user(other_tenant, Role.ADMIN)
    student = student_user(owner=other_tenant)

    assert _playback(client_for(staff), ready_video).status_code == 404
    assert _playback(client_for(student), ready_video).status_code == 404


@pytest.mark.parametrize("state", [VideoState.UPLOADED, VideoState.PROCESSING, VideoState.FAILED])
def test_a_video_that_is_not_ready_is_409(teacher_client, ready_video, state):
    Video.objects.filter(id=ready_video.id).update(state=state)

    response = _playback(teacher_client, ready_video)

    assert response.status_code == 409
    assert response.json()["code"] == "VIDEO_NOT_READY"
    assert response.json()["details"] == {"state": state}


def test_anonymous_callers_get_no_playback(client, ready_video):
    assert client.get(f"/api/v1/videos/{ready_video.id}/playback/").status_code == 401


# ---------------------------------------------------------------------------
# Signed playlists
# ---------------------------------------------------------------------------
@pytest.fixture
def master_url(client_for, student_user, lecture, ready_video):
    return _playback(client_for(student_user(lecture)), ready_video).json()["url"]


def test_master_playlist_rewrites_every_variant_to_a_signed_playlist_url(master_url, ready_video):
    response = Client().get(_path(master_url))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    max_age = int(response["Cache-Control"].removeprefix("private, max-age="))
    assert 0 < max_age <= 300
    lines = response.content.decode().splitlines()
    base = master_url.removesuffix("master.m3u8")
    assert lines == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
        base + "v0/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"',
        base + "v1/index.m3u8",
    ]


def test_playlists_answer_any_accept_header_and_any_origin(master_url):
    response = Client().get(_path(master_url), HTTP_ACCEPT="application/vnd.apple.mpegurl",
                            HTTP_ORIGIN="https://app.example")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example"


def test_an_expired_playlist_answers_403_that_a_player_on_another_origin_can_read(teacher, ready_video):
    # Given a token that expired a second ago
    token, _ = playback.playback_token_make(video_id=ready_video.id, user_id=teacher.id, expires_in=-1)

    # When a player on another origin asks for the master playlist
    response = Client().get(_path(playback.master_playlist_url(video_id=ready_video.id, token=token)),
                            HTTP_ORIGIN="https://app.example")

    # Then the 403 carries CORS, so the page can tell "expired, ask again" from a network failure
    assert response.status_code == 403
    assert response.json()["code"] == "PLAYBACK_TOKEN_EXPIRED"
    assert response["Access-Control-Allow-Origin"] == "https://app.example"


def test_segments_keep_the_immutable_cache_header_they_were_stored_with(master_url, ready_video, local_storage):
    local_storage.put("video", f"{ready_video.hls_prefix}v1/seg_00000.ts", b"v1-0", content_type="video/mp2t",
                      cache_control="public, max-age=31536000, immutable")
    variant = Client().get(_path(master_url.removesuffix("master.m3u8") + "v1/index.m3u8"))
    first_segment = next(line for line in variant.content.decode().splitlines() if not line.startswith("#"))

    response = Client().get(_path(first_segment), HTTP_ORIGIN="https://app.example")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Type"] == "video/mp2t"
    assert response["Access-Control-Allow-Origin"] == "https://app.example"


def test_variant_playlist_rewrites_every_segment_to_a_presigned_url_that_serves_it(master_url, ready_video):
    http = Client()
    variant_url = master_url.removesuffix("master.m3u8") + "v1/index.m3u8"

    response = http.get(_path(variant_url))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    lines = response.content.decode().splitlines()
    segments = [line for line in lines if not line.startswith("#")]
    assert [line for line in lines if line.startswith("#")] == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD", "#EXTINF:6.000000,", "#EXTINF:2.500000,", "#EXT-X-ENDLIST"]
    storage_prefix = f"http://testserver/api/v1/storage/local/o/video/{ready_video.hls_prefix}v1/"
    assert [s.split("?")[0] for s in segments] == [storage_prefix + "seg_00000.ts", storage_prefix + "seg_00001.ts"]
    assert all("?sig=" in s for s in segments)
    fetched = http.get(_path(segments[1]))
    assert b"".join(fetched.streaming_content) == b"v1-1"


def test_segments_are_not_served_without_a_signature(ready_video):
    response = Client().get(f"/api/v1/storage/local/o/video/{ready_video.hls_prefix}v0/seg_00000.ts")

    assert response.status_code == 403


def _token(url: str) -> str:
    return urlsplit(url).path.split("/hls/")[1].split("/")[0]


def test_a_tampered_token_is_403(master_url, ready_video):
    token = _token(master_url)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = Client().get(f"/api/v1/videos/{ready_video.id}/hls/{tampered}/master.m3u8")
    variant = Client().get(f"/api/v1/videos/{ready_video.id}/hls/{tampered}/v0/index.m3u8")

    assert response.status_code == 403
    assert response.json()["code"] == "PLAYBACK_TOKEN_INVALID"
    assert variant.status_code == 403


def test_a_token_for_another_video_is_403(master_url, tenant, lecture, ready_video):
    other = Video.objects.create(tenant=tenant, lecture=lecture, title="2강", filename="b.mp4",
                                 safe_filename="b.mp4", size=10, content_type="video/mp4", state=VideoState.READY)

    response = Client().get(f"/api/v1/videos/{other.id}/hls/{_token(master_url)}/master.m3u8")

    assert response.status_code == 403
    assert response.json()["code"] == "PLAYBACK_TOKEN_INVALID"


def test_an_expired_token_is_403(teacher, ready_video):
    token, _ = playback.playback_token_make(video_id=ready_video.id, user_id=teacher.id, expires_in=-1)

    response = Client().get(f"/api/v1/videos/{ready_video.id}/hls/{token}/master.m3u8")

    assert response.status_code == 403
    assert response.json()["code"] == "PLAYBACK_TOKEN_EXPIRED"


def test_dropping_the_enrollment_or_deleting_the_video_ends_playback_of_issued_urls(master_url, ready_video):
    from apps.domains.enrollment.models import Enrollment

    Enrollment.objects.update(status=EnrollmentStatus.DROPPED)
    after_drop = Client().get(_path(master_url))
    Enrollment.objects.update(status=EnrollmentStatus.ACTIVE)
    Video.objects.filter(id=ready_video.id).update(state=VideoState.DELETED)
    after_delete = Client().get(_path(master_url))

    assert (after_drop.status_code, after_drop.json()["code"]) == (403, "PLAYBACK_NOT_ALLOWED")
    assert (after_delete.status_code, after_delete.json()["code"]) == (403, "PLAYBACK_NOT_ALLOWED")


def test_a_deactivated_user_or_academy_can_no_longer_open_issued_urls(master_url, tenant):
    from apps.core.models import User

    User.objects.filter(role=Role.STUDENT).update(is_active=False)
    user_off = Client().get(_path(master_url))
    User.objects.filter(role=Role.STUDENT).update(is_active=True)
    type(tenant).objects.filter(id=tenant.id).update(is_active=False)
    academy_off = Client().get(_path(master_url))

    assert (user_off.status_code, academy_off.status_code) == (403, 403)


def test_a_playlist_naming_anything_but_its_own_files_is_never_served(master_url, ready_video, local_storage):
    local_storage.put("video", ready_video.hls_prefix + "v0/index.m3u8",
                      VARIANT.replace("seg_00001.ts", "../../../raw/1/a.mp4").encode())

    response = Client().get(_path(master_url.removesuffix("master.m3u8") + "v0/index.m3u8"))

    assert response.status_code == 502
    assert response.json()["code"] == "VIDEO_PLAYLIST_INVALID"


def test_an_unknown_rendition_is_404(master_url):
    response = Client().get(_path(master_url.removesuffix("master.m3u8") + "v9/index.m3u8"))

    assert response.status_code == 404
    assert response.json()["code"] == "VIDEO_PLAYLIST_NOT_FOUND"


def test_the_schema_leaves_the_signed_playlists_out(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    assert "/api/v1/videos/{id}/playback/" in paths
    assert [p for p in paths if "/hls/" in p] == []


@pytest.fixture
def r2_ready_video(tenant, lecture, settings, monkeypatch):
    """The same READY ladder in an S3-API bucket (moto), where segment URLs are S3 presigned GETs."""
    import boto3
    from moto import mock_aws

    from apps.integrations import storage as storage_module

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "ap-northeast-2"}.items():
        monkeypatch.setenv(name, value)
    settings.AWS_REGION = "ap-northeast-2"
    settings.R2_ENDPOINT_URL = ""
    settings.R2_ACCESS_KEY_ID = settings.R2_SECRET_ACCESS_KEY = "testing"
    settings.STORAGE_BACKEND = "r2"
    settings.API_BASE_URL = "http://testserver"
    storage_module.reset_storage_for_tests()
    with mock_aws():
        boto3.client("s3", region_name="ap-northeast-2").create_bucket(
            Bucket=settings.R2_BUCKET_VIDEO, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        storage = storage_module.get_storage()
        video = Video.objects.create(tenant=tenant, lecture=lecture, title="1강", filename="a.mp4",
                                     safe_filename="a.mp4", size=10, content_type="video/mp4",
                                     state=VideoState.READY, hls_prefix=f"tenants/{tenant.id}/video/hls/r2/")
        storage.put("video", video.hls_prefix + "master.m3u8", MASTER.encode())
        storage.put("video", video.hls_prefix + "v0/index.m3u8", VARIANT.encode())
        storage.put("video", video.hls_prefix + "v0/seg_00001.ts", b"r2-segment")
        yield video
    storage_module.reset_storage_for_tests()


def test_on_r2_segments_become_s3_presigned_urls_that_serve_them(teacher_client, r2_ready_video, settings):
    import requests

    master_url = _playback(teacher_client, r2_ready_video).json()["url"]
    http = Client()
    master = http.get(_path(master_url)).content.decode().splitlines()
    variant_url = next(line for line in master if line.endswith("/v0/index.m3u8"))

    variant = http.get(_path(variant_url))

    segments = [line for line in variant.content.decode().splitlines() if not line.startswith("#")]
    bucket_url = f"https://{settings.R2_BUCKET_VIDEO}.s3.amazonaws.com/{r2_ready_video.hls_prefix}v0/"
    assert [s.split("?")[0] for s in segments] == [bucket_url + "seg_00000.ts", bucket_url + "seg_00001.ts"]
    assert all("X-Amz-Signature=" in s and "X-Amz-Expires=" in s for s in segments)
    assert requests.get(segments[1], timeout=10).content == b"r2-segment"


def test_archiving_the_lecture_ends_its_students_playback_and_restoring_gives_it_back(
    client_for, student_user, teacher_client, lecture, ready_video, master_url
):
    from apps.domains.lectures.services import lecture_archive, lecture_restore

    student = client_for(student_user(lecture))
    lecture_archive(lecture=lecture)
    archived_start = _playback(student, ready_video)
    archived_issued = Client().get(_path(master_url))
    staff_start = _playback(teacher_client, ready_video)
    lecture_restore(lecture=lecture)
    restored_start = _playback(student, ready_video)

    assert (archived_start.status_code, archived_start.json()["code"]) == (403, "VIDEO_NOT_ENROLLED")
    assert (archived_issued.status_code, archived_issued.json()["code"]) == (403, "PLAYBACK_NOT_ALLOWED")
    assert staff_start.status_code == 200
    assert restored_start.status_code == 200
