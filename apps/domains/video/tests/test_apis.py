"""Video HTTP API: create + direct upload through the presigned URLs, upload_complete (real ffprobe over HTTP),
Batch refusals, retry, delete, tenancy, and the Lambda's backlog count."""

import pytest
from django.utils import timezone

from apps.core.models import Role
from apps.domains.video.models import Video, VideoState
from apps.jobs.models import Job, JobState
from apps.jobs.services import job_scan_stuck

from .upload_support import create_and_upload, create_video

AWS_REGION = "ap-northeast-2"


# ---------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------
def test_create_answers_one_presigned_put_for_a_file_under_the_threshold(teacher_client, lecture, local_storage,
                                                                         settings, tenant, teacher):
    response = create_video(teacher_client, lecture, size=1000)

    assert response.status_code == 201
    body = response.json()
    video = Video.objects.get()
    assert body["video"]["id"] == video.id
    assert body["video"]["state"] == "PENDING_UPLOAD"
    assert (video.raw_key, video.created_by_id, video.upload_id) == (
        f"raw/tenants/{tenant.id}/video/{video.id}/1.mp4", teacher.id, "")
    upload = body["upload"]
    assert (upload["kind"], upload["method"], upload["headers"], upload["parts"]) == (
        "single", "PUT", {"Content-Type": "video/mp4"}, [])
    assert upload["url"].startswith(f"http://testserver/api/v1/storage/local/o/video/{video.raw_key}?sig=")


def test_create_above_the_threshold_answers_a_multipart_upload_with_one_url_per_part(
    teacher_client, lecture, local_storage, settings
):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 1000
    settings.VIDEO_PART_SIZE_BYTES = 400

    response = create_video(teacher_client, lecture, size=1001)

    upload = response.json()["upload"]
    video = Video.objects.get()
    assert (upload["kind"], upload["part_size"], upload["part_count"]) == ("multipart", 400, 3)
    assert upload["upload_id"] == video.upload_id != ""
    assert [p["part_number"] for p in upload["parts"]] == [1, 2, 3]
    assert all("/api/v1/storage/local/part/video/" in p["url"] for p in upload["parts"])


@pytest.mark.parametrize(("fields", "code"), [
    ({"size": 21 * 1024**3}, "VIDEO_TOO_LARGE"),
    ({"size": 1000, "filename": "notes.pdf", "content_type": "application/pdf"}, "VIDEO_INVALID_TYPE"),
])
def test_create_refuses_declared_size_or_type_before_any_upload(teacher_client, lecture, local_storage, fields,
                                                                 code):
    response = create_video(teacher_client, lecture, **fields)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert Video.objects.count() == 0


def test_create_for_another_tenants_lecture_is_404(teacher_client, make_lecture, other_tenant, local_storage):
    foreign = make_lecture(other_tenant)

    response = create_video(teacher_client, foreign, size=1000)

    assert response.status_code == 404
    assert response.json()["code"] == "LECTURE_NOT_FOUND"
    assert Video.objects.count() == 0


def test_create_for_an_archived_lecture_or_its_session_is_409(teacher_client, lecture, make_session, local_storage):
    session = make_session(lecture)
    lecture.archived_at = timezone.now()
    lecture.save()

    by_lecture = create_video(teacher_client, lecture, size=1000)
    by_session = teacher_client.post("/api/v1/videos/", {"title": "1강", "session_id": session.id,
                                                         "filename": "a.mp4", "size": 1000,
                                                         "content_type": "video/mp4"}, format="json")

    assert (by_lecture.status_code, by_lecture.json()["code"]) == (409, "LECTURE_ARCHIVED")
    assert (by_session.status_code, by_session.json()["code"]) == (409, "LECTURE_ARCHIVED")
    assert Video.objects.count() == 0


def test_students_cannot_create_videos(client_for, make_user, tenant, lecture, local_storage):
    student = make_user(tenant, Role.STUDENT)

    response = create_video(client_for(student), lecture, size=1000)

    assert response.status_code == 403
    assert Video.objects.count() == 0


# ---------------------------------------------------------------------------
# upload_complete
# ---------------------------------------------------------------------------
def test_upload_then_complete_submits_one_transcode_and_answers_202(
    teacher_client, lecture, served_storage, fake_batch, tiny_video, teacher
):
    video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json() == {"job_id": str(job.id), "video_id": video_id, "status": "QUEUED"}
    assert (job.kind, job.payload, job.created_by_id, job.external_id) == (
        "video_transcode", {"video_id": video_id}, teacher.id, "batch-1")
    assert fake_batch.submitted == [{"job_name": f"video_transcode-{job.id}", "job_id": str(job.id)}]
    video = Video.objects.get(id=video_id)
    assert (video.state, video.current_job_id, video.width, video.height) == (VideoState.UPLOADED, job.id, 320, 240)
    assert video.duration_seconds == pytest.approx(1.0, abs=0.1)


def test_upload_complete_twice_answers_the_same_job_and_submits_once(
    teacher_client, lecture, served_storage, fake_batch, tiny_video
):
    video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)
    first = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    second = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert second.status_code == 202
    assert second.json() == first.json()
    assert Job.objects.count() == 1
    assert len(fake_batch.submitted) == 1


def test_multipart_upload_completes_from_its_parts(teacher_client, lecture, served_storage, fake_batch, tiny_video,
                                                   settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 1000
    settings.VIDEO_PART_SIZE_BYTES = len(tiny_video) // 3 + 1
    video_id, parts = create_and_upload(teacher_client, lecture, tiny_video)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {"parts": parts}, format="json")

    assert response.status_code == 202
    assert [p["PartNumber"] for p in parts] == [1, 2, 3]
    video = Video.objects.get(id=video_id)
    assert (video.state, video.upload_id) == (VideoState.UPLOADED, "")
    assert served_storage.head("video", video.raw_key).size == len(tiny_video)


def test_garbage_bytes_are_refused_with_the_probe_code_the_video_failed_and_the_raw_deleted(
    teacher_client, lecture, served_storage, fake_batch
):
    garbage = b"this is not a video at all" * 40
    video_id, _ = create_and_upload(teacher_client, lecture, garbage)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "PROBE_FAILED"
    video = Video.objects.get(id=video_id)
    assert (video.state, video.error_code) == (VideoState.FAILED, "PROBE_FAILED")
    assert served_storage.exists("video", video.raw_key) is False
    assert Job.objects.count() == 0
    assert fake_batch.submitted == []


def test_complete_before_the_upload_arrived_is_409_and_the_video_keeps_waiting(
    teacher_client, lecture, served_storage, fake_batch
):
    video_id = create_video(teacher_client, lecture, size=1000).json()["video"]["id"]

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "VIDEO_UPLOAD_INCOMPLETE"
    assert Video.objects.get(id=video_id).state == VideoState.PENDING_UPLOAD
    assert Job.objects.count() == 0


@pytest.fixture
def moto_batch(monkeypatch, settings):
    """AWS Batch on moto with no job queue yet: every submit is refused until `make_queue()` runs."""
    from moto import mock_aws

    from apps.integrations import batch as batch_module

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": AWS_REGION}.items():
        monkeypatch.setenv(name, value)
    settings.AWS_REGION = AWS_REGION
    settings.BATCH_BACKEND = "aws"
    settings.BATCH_JOB_QUEUE = "academy-video-queue"
    settings.BATCH_JOB_DEFINITION = "academy-video-transcode"
    batch_module.reset_batch_for_tests()
    with mock_aws(config={"batch": {"use_docker": False}}):
        yield _make_moto_queue
    batch_module.reset_batch_for_tests()


def _make_moto_queue():
    import boto3

    iam = boto3.client("iam", region_name=AWS_REGION)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("batch", region_name=AWS_REGION)
    env_arn = client.create_compute_environment(computeEnvironmentName="academy-video-ce", type="UNMANAGED",
                                                state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
    client.create_job_queue(jobQueueName="academy-video-queue", state="ENABLED", priority=1,
                            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}])
    client.register_job_definition(jobDefinitionName="academy-video-transcode", type="container",
                                   containerProperties={"image": "academy/video:latest", "vcpus": 1, "memory": 512})


def test_batch_refusal_is_503_with_the_job_queued_for_the_scanner_which_submits_it_once_batch_works(
    teacher_client, lecture, served_storage, tiny_video, moto_batch
):
    video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")

    assert response.status_code == 503
    job = Job.objects.get()
    assert response.json() == {"code": "VIDEO_ENQUEUE_FAILED", "message": "비디오 작업 큐 등록 실패",
                               "details": {"video_id": video_id, "job_id": str(job.id)}}
    assert (job.state, job.external_id) == (JobState.QUEUED, "")
    assert Video.objects.get(id=video_id).current_job_id == job.id

    moto_batch()
    report = job_scan_stuck(kind="video_transcode", dispatch_grace_seconds=0)

    job.refresh_from_db()
    assert [(action, j.id) for action, j in report.actions] == [("redispatched", job.id)]
    assert (job.state, job.backend, job.queue) == (JobState.QUEUED, "batch", "academy-video-queue")
    assert job.external_id != ""
    again = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")
    assert again.json() == {"job_id": str(job.id), "video_id": video_id, "status": "QUEUED"}
    assert Job.objects.count() == 1


def test_concurrency_limit_keeps_the_surplus_queued_until_the_scanner_finds_a_free_slot(
    teacher_client, lecture, served_storage, fake_batch, tiny_video, settings
):
    settings.VIDEO_MAX_RUNNING_PER_TENANT = 2
    jobs = []
    for _ in range(3):
        video_id, _ = create_and_upload(teacher_client, lecture, tiny_video)
        response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json")
        assert response.status_code == 202
        jobs.append(Job.objects.get(id=response.json()["job_id"]))

    assert [j.external_id for j in jobs] == ["batch-1", "batch-2", ""]
    assert jobs[2].state == JobState.QUEUED
    assert job_scan_stuck(kind="video_transcode", dispatch_grace_seconds=0).count("waiting") == 1
    assert len(fake_batch.submitted) == 2

    Job.objects.filter(id=jobs[0].id).update(state=JobState.DONE)
    report = job_scan_stuck(kind="video_transcode", dispatch_grace_seconds=0)

    assert [(action, j.id) for action, j in report.actions] == [("redispatched", jobs[2].id)]
    assert Job.objects.get(id=jobs[2].id).external_id == "batch-3"


def test_global_limit_counts_every_tenant(served_storage, fake_batch, tiny_video, settings, make_tenant, make_user,
                                          make_lecture, client_for):
    settings.VIDEO_MAX_RUNNING_PER_TENANT = 5
    settings.VIDEO_MAX_RUNNING_GLOBAL = 1
    answers = []
    for _ in range(2):
        tenant = make_tenant()
        client = client_for(make_user(tenant, Role.TEACHER))
        video_id, _ = create_and_upload(client, make_lecture(tenant), tiny_video)
        answers.append(client.post(f"/api/v1/videos/{video_id}/upload_complete/", {}, format="json").json())

    assert [Job.objects.get(id=a["job_id"]).external_id for a in answers] == ["batch-1", ""]
    assert [a["status"] for a in answers] == ["QUEUED", "QUEUED"]


# ---------------------------------------------------------------------------
# Re-signing parts, abort
# ---------------------------------------------------------------------------
def test_upload_parts_re_signs_the_asked_parts_only(teacher_client, lecture, local_storage, settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 1000
    settings.VIDEO_PART_SIZE_BYTES = 400
    video_id = create_video(teacher_client, lecture, size=1001).json()["video"]["id"]

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_parts/", {"part_numbers": [3, 1]},
                                   format="json")
    refused = teacher_client.post(f"/api/v1/videos/{video_id}/upload_parts/", {"part_numbers": [4]}, format="json")

    assert response.status_code == 200
    assert [p["part_number"] for p in response.json()["parts"]] == [1, 3]
    assert refused.status_code == 400
    assert refused.json()["code"] == "VIDEO_INVALID_PART_NUMBER"


def test_upload_abort_deletes_the_video_and_its_partial_upload(teacher_client, lecture, local_storage, settings):
    settings.VIDEO_MULTIPART_THRESHOLD_BYTES = 1000
    settings.VIDEO_PART_SIZE_BYTES = 400
    video_id = create_video(teacher_client, lecture, size=1001).json()["video"]["id"]
    upload_dirs = list((local_storage.root / ".multipart").iterdir())

    response = teacher_client.post(f"/api/v1/videos/{video_id}/upload_abort/")

    assert response.status_code == 200
    assert response.json()["state"] == "DELETED"
    assert len(upload_dirs) == 1 and not upload_dirs[0].exists()
    assert teacher_client.get(f"/api/v1/videos/{video_id}/").status_code == 404


# ---------------------------------------------------------------------------
# List, detail, tenancy
# ---------------------------------------------------------------------------
def _video(tenant, for_lecture=None, **fields) -> Video:
    fields.setdefault("state", VideoState.READY)
    video = Video.objects.create(tenant=tenant, lecture=for_lecture, title=fields.pop("title", "영상"),
                                 filename="a.mp4", safe_filename="a.mp4", size=10, content_type="video/mp4", **fields)
    Video.objects.filter(id=video.id).update(raw_key=f"tenants/{tenant.id}/video/raw/{video.id}/a.mp4",
                                             hls_prefix=f"tenants/{tenant.id}/video/hls/{video.id}/")
    video.refresh_from_db()
    return video


def test_list_filters_by_lecture_and_state_and_hides_deleted_and_foreign_videos(
    teacher_client, tenant, other_tenant, lecture, make_lecture
):
    other_lecture = make_lecture(tenant, "화학")
    ready = _video(tenant, lecture)
    failed = _video(tenant, lecture, state=VideoState.FAILED)
    _video(tenant, other_lecture)
    _video(tenant, lecture, state=VideoState.DELETED)
    _video(other_tenant)

    response = teacher_client.get(f"/api/v1/videos/?lecture={lecture.id}")
    by_state = teacher_client.get(f"/api/v1/videos/?lecture={lecture.id}&state=FAILED")

    assert sorted(v["id"] for v in response.json()["results"]) == sorted([ready.id, failed.id])
    assert [v["id"] for v in by_state.json()["results"]] == [failed.id]


def test_another_tenants_video_is_404_everywhere(teacher_client, admin_client, other_tenant, local_storage):
    foreign = _video(other_tenant)

    answers = [
        teacher_client.get(f"/api/v1/videos/{foreign.id}/").status_code,
        teacher_client.post(f"/api/v1/videos/{foreign.id}/upload_complete/", {}, format="json").status_code,
        teacher_client.get(f"/api/v1/videos/{foreign.id}/playback/").status_code,
        admin_client.post(f"/api/v1/videos/{foreign.id}/retry/").status_code,
        admin_client.delete(f"/api/v1/videos/{foreign.id}/").status_code,
    ]

    assert answers == [404, 404, 404, 404, 404]
    assert Video.objects.get(id=foreign.id).state == VideoState.READY


# ---------------------------------------------------------------------------
# Retry
# ---------------------------------------------------------------------------
def _failed_with_raw(tenant, storage, *, job=None) -> Video:
    video = _video(tenant, state=VideoState.FAILED, error_code="TRANSCODE_FAILED",
                   current_job_id=job.id if job else None)
    storage.put("video", video.raw_key, b"raw bytes")
    return video


def test_retry_submits_a_new_job_for_a_failed_video(admin_client, tenant, local_storage, fake_batch, admin_user):
    old = Job.objects.create(tenant=tenant, kind="video_transcode", state=JobState.DEAD, payload={})
    video = _failed_with_raw(tenant, local_storage, job=old)

    response = admin_client.post(f"/api/v1/videos/{video.id}/retry/")

    assert response.status_code == 202
    new = Job.objects.exclude(id=old.id).get()
    assert response.json() == {"job_id": str(new.id), "video_id": video.id, "status": "QUEUED"}
    assert (new.payload, new.created_by_id) == ({"video_id": video.id}, admin_user.id)
    video.refresh_from_db()
    assert (video.state, video.current_job_id, video.error_code) == (VideoState.UPLOADED, new.id, "")


def test_retry_is_refused_while_the_job_is_queued_or_running(admin_client, tenant, local_storage, fake_batch):
    running = Job.objects.create(tenant=tenant, kind="video_transcode", state=JobState.RUNNING, payload={})
    video = _failed_with_raw(tenant, local_storage, job=running)

    response = admin_client.post(f"/api/v1/videos/{video.id}/retry/")

    assert response.status_code == 409
    assert response.json()["code"] == "VIDEO_JOB_ACTIVE"
    assert Job.objects.count() == 1
    assert Video.objects.get(id=video.id).state == VideoState.FAILED


def test_retry_refuses_ready_videos_and_videos_without_their_raw_upload(admin_client, tenant, local_storage,
                                                                        fake_batch):
    ready = _video(tenant)
    rejected = _video(tenant, state=VideoState.FAILED, error_code="PROBE_FAILED")

    not_failed = admin_client.post(f"/api/v1/videos/{ready.id}/retry/")
    no_raw = admin_client.post(f"/api/v1/videos/{rejected.id}/retry/")

    assert (not_failed.status_code, not_failed.json()["code"]) == (409, "VIDEO_NOT_RETRYABLE")
    assert (no_raw.status_code, no_raw.json()["code"]) == (409, "VIDEO_RAW_MISSING")
    assert Job.objects.count() == 0


def test_retry_is_for_admins(teacher_client, tenant, local_storage, fake_batch):
    video = _failed_with_raw(tenant, local_storage)

    response = teacher_client.post(f"/api/v1/videos/{video.id}/retry/")

    assert response.status_code == 403
    assert Job.objects.count() == 0


# ---------------------------------------------------------------------------
# Delete
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("raw_folder", [
    "raw/tenants/{tenant}/video/{video}/",  # today's layout
    "tenants/{tenant}/video/raw/{video}/",  # uploads stored before raw keys moved under raw/
])
def test_delete_cancels_the_running_job_and_removes_raw_and_hls_objects(
    admin_client, tenant, local_storage, fake_batch, django_capture_on_commit_callbacks, raw_folder
):
    job = Job.objects.create(tenant=tenant, kind="video_transcode", state=JobState.RUNNING, payload={},
                             backend="batch", external_id="batch-77")
    video = _video(tenant, state=VideoState.PROCESSING, current_job_id=job.id)
    raw_folder = raw_folder.format(tenant=tenant.id, video=video.id)
    Video.objects.filter(id=video.id).update(raw_key=raw_folder + "a.mp4")
    video.refresh_from_db()
    local_storage.put("video", video.raw_key, b"raw")
    for name in ["master.m3u8", "v0/index.m3u8", "v0/seg_00000.ts", "v1/seg_00000.ts", "thumbnail.jpg"]:
        local_storage.put("video", video.hls_prefix + name, b"x")
    neighbour = f"tenants/{tenant.id}/video/hls/{video.id}0/master.m3u8"
    local_storage.put("video", neighbour, b"keep")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/v1/videos/{video.id}/")

    assert response.status_code == 204
    assert Job.objects.get(id=job.id).state == JobState.CANCELLED
    assert fake_batch.terminated == [("batch-77", "작업이 취소되었습니다.")]
    assert list(local_storage.list_prefix("video", raw_folder)) == []
    assert list(local_storage.list_prefix("video", video.hls_prefix)) == []
    assert local_storage.exists("video", neighbour)
    assert Video.objects.get(id=video.id).state == VideoState.DELETED


def test_only_admins_delete(teacher_client, tenant, local_storage):
    video = _video(tenant)
    local_storage.put("video", video.raw_key, b"raw")

    response = teacher_client.delete(f"/api/v1/videos/{video.id}/")

    assert response.status_code == 403
    assert local_storage.exists("video", video.raw_key)
    assert Video.objects.get(id=video.id).state == VideoState.READY


# ---------------------------------------------------------------------------
# Backlog count for the scaling Lambda
# ---------------------------------------------------------------------------
def test_backlog_count_answers_a_caller_by_private_ip_with_the_key(client, tenant, other_tenant, settings):
    for owner, state in [(tenant, JobState.QUEUED), (tenant, JobState.RUNNING), (other_tenant, JobState.QUEUED),
                         (tenant, JobState.DONE), (tenant, JobState.FAILED)]:
        Job.objects.create(tenant=owner, kind="video_transcode", state=state, payload={})
    Job.objects.create(tenant=tenant, kind="excel_import", state=JobState.QUEUED, payload={})

    response = client.get("/api/v1/internal/video/backlog-count/", HTTP_HOST="10.0.1.23",
                          HTTP_X_INTERNAL_KEY=settings.LAMBDA_INTERNAL_API_KEY)

    assert response.status_code == 200
    assert response.json() == {"backlog": 3}


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_INTERNAL_KEY": "wrong"}])
def test_backlog_count_without_the_right_key_is_403(client, db, headers):
    response = client.get("/api/v1/internal/video/backlog-count/", HTTP_HOST="10.0.1.23", **headers)

    assert response.status_code == 403
    assert "backlog" not in response.json()
