"""POST/GET /api/v1/exams/<id>/scans/: checked uploads become an ExamScan and an `omr_grading` job on the basic tier;
everything that is not a safe image or PDF within the limits is refused before anything is stored."""

import io
import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.core.models import Role, TenantPlan
from apps.domains.ai.tests.conftest import png_declaring
from apps.domains.exams import handlers
from apps.domains.exams.models import ExamScan, ExamState
from apps.jobs.models import Job

from .scanning import blank_page, heic, jpeg, pdf, png, text_page
from .test_handlers import KIM, RIGHT, Ctx, filled_sheet


def url(exam_id) -> str:
    return f"/api/v1/exams/{exam_id}/scans/"


@pytest.fixture
def staff_client(client_for, make_user, tenant):
    return client_for(make_user(tenant, Role.TEACHER))


def post(client, exam_id, *files: tuple[str, bytes]):
    body = {"files": [SimpleUploadedFile(name, data, content_type="application/octet-stream")
                      for name, data in files]}
    return client.post(url(exam_id), body, format="multipart")


def stored(local_storage) -> list[str]:
    return sorted(info.key for info in local_storage.list_prefix("ai", "exams/"))


def test_images_heic_and_a_multi_page_pdf_become_one_scan_and_one_basic_tier_job(
        staff_client, scan_class, local_storage, fake_queues, settings, django_capture_on_commit_callbacks):
    exam = scan_class["exam"]
    sheet = filled_sheet(exam, identifier=KIM, answers=RIGHT)
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(staff_client, exam.id, ("a.jpg", jpeg(sheet)), ("b.png", png(sheet)),
                      ("IMG_0001.HEIC", heic(sheet)), ("stack.pdf", pdf([sheet, blank_page(), text_page()])))

    assert answer.status_code == 202, answer.json()
    body = answer.json()
    scan = ExamScan.objects.get(id=body["scan_id"])
    assert body == {"job_id": str(scan.job_id), "scan_id": scan.id, "page_count": 6}
    job = Job.objects.get(id=body["job_id"])
    assert (job.kind, job.payload, job.queue) == ("omr_grading", {"scan_id": scan.id}, settings.SQS_QUEUE_AI_BASIC)
    assert fake_queues.depth(settings.SQS_QUEUE_AI_BASIC) == 1
    prefix = f"exams/{exam.tenant_id}/{exam.id}/{scan.id}/"
    assert stored(local_storage) == [prefix + name for name in ("1.jpg", "2.png", "3.heic", "4.pdf")]
    assert [(f["content_type"], f["pages"]) for f in scan.files] == [
        ("image/jpeg", 1), ("image/png", 1), ("image/heic", 1), ("application/pdf", 3)]

    handlers.omr_grading(job, Ctx())
    listed = staff_client.get(url(exam.id)).json()
    assert [(s["id"], s["state"], s["page_count"], s["graded_count"], s["review_count"], s["unreadable_count"])
            for s in listed] == [(scan.id, "DONE", 6, 1, 3, 2)]  # four sheets of Kim: one counts, three are duplicates


def test_a_premium_academys_scan_goes_to_the_premium_queue(scan_class, client_for, make_user, local_storage,
                                                           fake_queues, settings, django_capture_on_commit_callbacks):
    tenant = scan_class["exam"].tenant
    tenant.plan = TenantPlan.PREMIUM
    tenant.save(update_fields=["plan"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client_for(make_user(tenant, Role.STAFF)), scan_class["exam"].id,
                      ("a.png", png(blank_page())))

    assert answer.status_code == 202
    assert Job.objects.get(id=answer.json()["job_id"]).queue == settings.SQS_QUEUE_AI_PREMIUM


def _bomb_pdf() -> bytes:
    # One page of 14400 × 14400 points (the PDF maximum): 1.6 billion pixels at the render resolution.
    made = re.sub(rb"/MediaBox \[[^\]]*\]", b"/MediaBox [ 0 0 14400 14400 ]", pdf([blank_page(10)]))
    assert b"14400" in made
    return made


@pytest.mark.parametrize(("files", "status", "code"), [
    ([("a.txt", b"hello, not a sheet")], 400, "SCAN_FILE_INVALID"),
    ([("a.gif", b"GIF89a" + b"\x00" * 64)], 400, "SCAN_FILE_INVALID"),
    ([("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)], 400, "SCAN_FILE_INVALID"),
    ([("a.pdf", b"%PDF-1.7 nothing after")], 400, "SCAN_FILE_INVALID"),
    ([("a.heic", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)], 400, "SCAN_FILE_INVALID"),
    ([("a.png", b"")], 400, "SCAN_FILE_INVALID"),
    ([("bomb.png", png_declaring(50_000, 50_000))], 400, "SCAN_TOO_MANY_PIXELS"),
    ([("big.png", png_declaring(8_000, 6_000))], 400, "SCAN_TOO_MANY_PIXELS"),
    ([("bomb.pdf", "bomb_pdf")], 400, "SCAN_TOO_MANY_PIXELS"),
    ([("pages.pdf", "pages_pdf")], 400, "SCAN_TOO_MANY_PAGES"),
    ([("a.png", "ok")] * 4, 400, "SCAN_TOO_MANY_FILES"),
    ([("huge.png", "huge")], 413, "SCAN_FILE_TOO_LARGE"),
    ([("a.png", "half"), ("b.png", "half"), ("c.png", "half")], 413, "SCAN_FILE_TOO_LARGE"),
])
def test_what_is_not_a_safe_image_or_pdf_within_the_limits_is_refused_and_nothing_is_stored(
        staff_client, scan_class, local_storage, fake_queues, settings, files, status, code):
    settings.EXAM_SCAN_MAX_FILES = 3
    settings.EXAM_SCAN_MAX_PAGES = 3
    settings.EXAM_SCAN_MAX_FILE_BYTES = 200_000
    settings.EXAM_SCAN_MAX_TOTAL_BYTES = 250_000
    small = png(blank_page(20))
    noisy = png(np.random.default_rng(0).integers(0, 255, (400, 400), dtype=np.uint8))  # ~160 kB: noise packs badly
    made = {"ok": small, "bomb_pdf": _bomb_pdf(), "pages_pdf": pdf([blank_page(20)] * 4), "huge": noisy + noisy,
            "half": noisy}
    assert len(made["huge"]) > 200_000 and 3 * len(made["half"]) > 250_000 >= len(made["half"])
    files = [(name, made.get(data, data) if isinstance(data, str) else data) for name, data in files]

    answer = post(staff_client, scan_class["exam"].id, *files)

    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.json()
    assert answer.json()["message"]
    assert stored(local_storage) == [] and not ExamScan.objects.exists() and not Job.objects.exists()


def test_a_heic_declaring_too_many_pixels_is_refused(staff_client, scan_class, local_storage, fake_queues,
                                                     settings):
    settings.EXAM_SCAN_MAX_PIXELS = 50
    answer = post(staff_client, scan_class["exam"].id, ("a.heic", heic(blank_page(20)[:10, :10])))

    assert (answer.status_code, answer.json()["code"]) == (400, "SCAN_TOO_MANY_PIXELS")


def test_no_files_is_a_400(staff_client, scan_class, local_storage, fake_queues):
    answer = staff_client.post(url(scan_class["exam"].id), {}, format="multipart")

    assert answer.status_code == 400
    assert not ExamScan.objects.exists()


@pytest.mark.parametrize("state", [ExamState.DRAFT, ExamState.PUBLISHED])
def test_an_exam_not_open_takes_no_scan(staff_client, scan_class, local_storage, fake_queues, state):
    exam = scan_class["exam"]
    exam.state = state
    exam.save(update_fields=["state"])

    answer = post(staff_client, exam.id, ("a.png", png(blank_page(20))))

    assert (answer.status_code, answer.json()["code"]) == (409, "EXAM_NOT_OPEN")
    assert stored(local_storage) == [] and not ExamScan.objects.exists()


def test_another_academys_exam_answers_404_for_upload_and_list(scan_class, client_for, make_user, other_tenant,
                                                               staff_client, local_storage, fake_queues):
    exam = scan_class["exam"]
    post(staff_client, exam.id, ("a.png", png(blank_page(20))))
    outsider = client_for(make_user(other_tenant, Role.ADMIN))

    assert post(outsider, exam.id, ("a.png", png(blank_page(20)))).status_code == 404
    assert outsider.get(url(exam.id)).status_code == 404
    assert ExamScan.objects.count() == 1


def test_students_and_parents_cannot_upload(scan_class, client_for, make_user, local_storage, fake_queues):
    tenant = scan_class["exam"].tenant
    for role in (Role.STUDENT, Role.PARENT):
        answer = post(client_for(make_user(tenant, role)), scan_class["exam"].id, ("a.png", png(blank_page(20))))
        assert answer.status_code == 403
    assert not ExamScan.objects.exists()


def test_the_heic_opener_reads_what_an_iphone_writes():
    data = heic(text_page(40))
    assert data[4:12] == b"ftypheic"
    from apps.domains.exams.scans import register_heif
    register_heif()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "HEIF" and image.size == (text_page(40).shape[1], text_page(40).shape[0])
