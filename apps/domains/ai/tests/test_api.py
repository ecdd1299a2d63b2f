"""POST /api/v1/ai/ocr/: staff upload an image, get 202 {job_id}; an ai worker reads it (lite tier, or premium for a
premium academy) and the poll shows {text, confidence}; the image is deleted once the job ends."""

import difflib
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.core.models import Role, TenantPlan
from apps.domains.ai import ocr, services
from apps.jobs.models import Job, JobState
from apps.worker.runtime import build_runtime

from .conftest import SENTENCE, png_declaring, render_text

URL = "/api/v1/ai/ocr/"


@pytest.fixture
def staff_client(client_for, make_user, tenant):
    return client_for(make_user(tenant, Role.TEACHER))


def _upload(data: bytes, name: str = "question.png") -> dict:
    return {"image": SimpleUploadedFile(name, data, content_type="application/octet-stream")}


def _post(client, data: bytes, django_capture_on_commit_callbacks, name: str = "question.png"):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, _upload(data, name), format="multipart")


def _stored(local_storage) -> list[str]:
    return [info.key for info in local_storage.list_prefix("ai", "ocr/")]


def test_an_image_becomes_an_ocr_job_whose_poll_shows_the_text_and_the_image_is_then_deleted(
    staff_client, tenant, local_storage, fake_queues, in_process_client, settings, django_capture_on_commit_callbacks
):
    # Given a staff member's photo of a printed Korean question
    answer = _post(staff_client, render_text(image_format="JPEG"), django_capture_on_commit_callbacks, "문제.jpg")

    # Then 202 with the job, the image stored in the AI bucket, a message on the lite queue
    assert answer.status_code == 202, answer.json()
    job_id = answer.json()["job_id"]
    assert answer.json()["status"] == JobState.QUEUED
    assert _stored(local_storage) == [f"ocr/{tenant.id}/{job_id}.jpg"]
    assert fake_queues.depth(settings.SQS_QUEUE_AI_LITE) == 1

    # When an ai worker polls
    with django_capture_on_commit_callbacks(execute=True):
        build_runtime("ai", queues=fake_queues, client=in_process_client, wait_seconds=0, heartbeat_interval=3600,
                      rng=random.Random(5)).run(max_polls=1)

    # Then the poll shows the text with its confidence, and the image is gone
    body = staff_client.get(f"/api/v1/jobs/{job_id}/").json()
    assert body["status"] == JobState.DONE, body
    assert difflib.SequenceMatcher(None, body["result"]["text"], SENTENCE).ratio() >= 0.8, body["result"]
    assert 0 < body["result"]["confidence"] <= 100
    assert _stored(local_storage) == []
    assert fake_queues.depth(settings.SQS_QUEUE_AI_LITE) == 0


def test_a_premium_academys_ocr_goes_to_the_premium_queue(client_for, make_user, make_tenant, local_storage,
                                                          fake_queues, settings, django_capture_on_commit_callbacks):
    academy = make_tenant(plan=TenantPlan.PREMIUM)
    client = client_for(make_user(academy, Role.STAFF))

    answer = _post(client, render_text(), django_capture_on_commit_callbacks)

    assert answer.status_code == 202
    assert Job.objects.get(id=answer.json()["job_id"]).queue == settings.SQS_QUEUE_AI_PREMIUM
    assert (fake_queues.depth(settings.SQS_QUEUE_AI_PREMIUM), fake_queues.depth(settings.SQS_QUEUE_AI_LITE)) == (1, 0)


def test_another_academys_ocr_job_answers_404(staff_client, client_for, make_user, other_tenant, local_storage,
                                              fake_queues, django_capture_on_commit_callbacks):
    job_id = _post(staff_client, render_text(), django_capture_on_commit_callbacks).json()["job_id"]
    stranger = client_for(make_user(other_tenant, Role.ADMIN))

    answer = stranger.get(f"/api/v1/jobs/{job_id}/")

    assert answer.status_code == 404
    assert answer.json()["code"] in ("NOT_FOUND", "JOB_NOT_FOUND")


@pytest.mark.parametrize("role", [Role.STUDENT, Role.PARENT])
def test_only_staff_may_ask_for_ocr(client_for, make_user, tenant, role, local_storage, fake_queues):
    answer = client_for(make_user(tenant, role)).post(URL, _upload(render_text()), format="multipart")

    assert answer.status_code == 403
    assert Job.objects.count() == 0


def test_without_login_the_answer_is_401(local_storage):
    assert APIClient().post(URL, _upload(render_text()), format="multipart").status_code == 401


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"%PDF-1.7 not an image", 400, "AI_IMAGE_INVALID"),
    (b"", 400, "AI_IMAGE_INVALID"),
    (png_declaring(60_000, 60_000), 400, "AI_IMAGE_TOO_MANY_PIXELS"),
])
def test_an_upload_that_is_not_a_safe_image_is_refused_and_nothing_is_stored(staff_client, local_storage,
                                                                            fake_queues, data, status, code):
    answer = staff_client.post(URL, _upload(data), format="multipart")

    assert answer.status_code == status
    body = answer.json()
    assert body["code"] == code
    assert body["message"] and body["details"] is not None
    assert _stored(local_storage) == [] and Job.objects.count() == 0


def test_an_image_over_the_size_limit_is_413(staff_client, local_storage, fake_queues, settings):
    settings.AI_IMAGE_MAX_BYTES = 2048

    answer = staff_client.post(URL, _upload(render_text()), format="multipart")

    assert (answer.status_code, answer.json()["code"]) == (413, "AI_IMAGE_TOO_LARGE")
    assert _stored(local_storage) == []


def test_an_image_over_the_pixel_limit_is_refused(staff_client, local_storage, fake_queues, settings):
    settings.AI_IMAGE_MAX_PIXELS = 1000

    answer = staff_client.post(URL, _upload(render_text()), format="multipart")

    assert (answer.status_code, answer.json()["code"]) == (400, "AI_IMAGE_TOO_MANY_PIXELS")


def test_a_missing_image_field_is_a_validation_error(staff_client, local_storage):
    answer = staff_client.post(URL, {}, format="multipart")

    assert (answer.status_code, answer.json()["code"]) == (400, "VALIDATION_ERROR")


def test_without_tesseract_the_api_answers_ocr_unavailable(staff_client, local_storage, fake_queues, settings):
    settings.AI_TESSERACT_CMD = "/nonexistent/tesseract"

    answer = staff_client.post(URL, _upload(render_text()), format="multipart")

    assert answer.status_code == 503
    body = answer.json()
    assert (body["code"], body["details"]) == ("OCR_UNAVAILABLE", {"missing": ["tesseract"]})
    assert "Tesseract" in body["message"]
    assert _stored(local_storage) == [] and Job.objects.count() == 0


def test_without_the_korean_data_the_api_answers_ocr_unavailable(staff_client, local_storage, fake_queues,
                                                                 monkeypatch):
    monkeypatch.setattr(ocr.pytesseract, "get_languages", lambda config="": ["eng", "osd"])

    answer = staff_client.post(URL, _upload(render_text()), format="multipart")

    assert (answer.status_code, answer.json()["details"]) == (503, {"missing": ["kor"]})


def test_the_tesseract_check_is_cached_and_then_asked_again(monkeypatch, settings):
    calls = []
    monkeypatch.setattr(ocr.pytesseract, "get_languages", lambda config="": calls.append(1) or ["kor", "eng"])

    assert services.ocr_missing(now=100.0) is None
    assert services.ocr_missing(now=100.0 + services.OCR_CHECK_TTL_SECONDS - 1) is None
    assert len(calls) == 1
    services.ocr_missing(now=100.0 + services.OCR_CHECK_TTL_SECONDS + 1)
    assert len(calls) == 2


def test_an_api_host_without_tesseract_can_leave_the_check_to_the_workers(staff_client, local_storage,
                                                                          fake_queues, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.AI_TESSERACT_CMD, settings.AI_OCR_CHECK_LOCAL = "/nonexistent/tesseract", False

    assert _post(staff_client, render_text(), django_capture_on_commit_callbacks).status_code == 202


def test_a_worker_without_tesseract_fails_the_attempt_retryably_and_keeps_the_image(
    staff_client, local_storage, fake_queues, in_process_client, settings, django_capture_on_commit_callbacks
):
    job_id = _post(staff_client, render_text(), django_capture_on_commit_callbacks).json()["job_id"]
    settings.AI_TESSERACT_CMD = "/nonexistent/tesseract"

    build_runtime("ai", queues=fake_queues, client=in_process_client, wait_seconds=0, heartbeat_interval=3600,
                  rng=random.Random(5)).run(max_polls=1)

    job = Job.objects.get(id=job_id)
    assert (job.state, job.error_code, job.attempts) == (JobState.QUEUED, "OCR_UNAVAILABLE", 1)
    assert len(_stored(local_storage)) == 1  # kept for the next attempt


def test_an_ocr_past_its_lease_ends_inference_timeout_and_the_image_is_deleted(
    staff_client, local_storage, fake_queues, in_process_client, settings, django_capture_on_commit_callbacks
):
    job_id = _post(staff_client, render_text(SENTENCE * 4), django_capture_on_commit_callbacks).json()["job_id"]
    settings.AI_JOB_LEASE_SECONDS = 0.05  # Tesseract alone takes longer: it is killed at the lease

    with django_capture_on_commit_callbacks(execute=True):
        build_runtime("ai", queues=fake_queues, client=in_process_client, wait_seconds=0, heartbeat_interval=3600,
                      rng=random.Random(5)).run(max_polls=1)

    job = Job.objects.get(id=job_id)
    assert (job.state, job.error_code, job.attempts) == (JobState.FAILED, "INFERENCE_TIMEOUT", 1)
    assert _stored(local_storage) == []
    assert fake_queues.depth(settings.SQS_QUEUE_AI_LITE) == 0
