"""The `omr_grading` handler on sheets synthesised from the exam's real PDF: every page's exact status and answers, a
bad page beside good ones, a retry grading only the pages left, a stop between pages, a missing file, and a real ai
worker SIGKILLed mid-batch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.domains.exams import handlers
from apps.domains.exams.models import ExamScan, ExamSheet, ScanState
from apps.domains.exams.scans import scan_submit
from apps.integrations.storage import get_storage
from apps.jobs.errors import JobInterrupted
from apps.jobs.models import Job, JobState

from .conftest import ANSWER_KEY, PARENT_PHONES
from .scanning import blank_page, filled_sheet, heic, jpeg, pdf, png, text_page

RIGHT = {n: c for n, c in enumerate(ANSWER_KEY, start=1)}
KIM, LEE, PARK = (PARENT_PHONES[name][-8:] for name in ("kim", "lee", "park"))


class Ctx:
    """The worker's JobContext as far as the handler uses it; `stop_after` pages graded in this attempt, it stops."""

    def __init__(self, stop_after: int | None = None):
        self.stop_after = stop_after
        self.progress_calls: list[int] = []

    @property
    def stop_requested(self) -> bool:
        return self.stop_after is not None and len(self.progress_calls) >= self.stop_after

    def progress(self, percent: int, stage: str = "") -> None:
        self.progress_calls.append(percent)


def upload(*files: tuple[str, bytes]) -> list:
    return [SimpleUploadedFile(name, data, content_type="application/octet-stream") for name, data in files]


def submit(scan_class, *files, user=None):
    scan, job = scan_submit(tenant=scan_class["exam"].tenant, exam=scan_class["exam"], created_by=user,
                            uploads=upload(*files))
    return scan, Job.objects.get(id=job.id)


def sheets(scan) -> list[ExamSheet]:
    return list(ExamSheet.objects.filter(scan=scan).order_by("page_number"))


@pytest.fixture
def batch(scan_class):
    """Page 1 Kim all right; 2 blank; 3 a text page; 4 Lee with a double mark (Q3) and a blank (Q10); 5 an unknown
    identifier; then a HEIC photo of Park's sheet with Q1 wrong and a JPEG of Kim's sheet turned upside down."""
    exam = scan_class["exam"]
    lee = {**RIGHT, 3: [2, 3]}
    del lee[10]
    pages = [
        filled_sheet(exam, identifier=KIM, answers=RIGHT, style="pencil", seed=1),
        blank_page(),
        text_page(),
        filled_sheet(exam, identifier=LEE, answers=lee, seed=2),
        filled_sheet(exam, identifier="99990000", answers=RIGHT, seed=3),
    ]
    park = filled_sheet(exam, identifier=PARK, answers={**RIGHT, 1: 2}, seed=4)
    turned = filled_sheet(exam, identifier=KIM, answers=RIGHT, seed=5)[::-1, ::-1].copy()
    return [("stack.pdf", pdf(pages)), ("iphone.heic", heic(park)), ("upside-down.jpg", jpeg(turned))]


def test_a_multi_page_pdf_and_photos_are_graded_page_by_page_with_each_pages_exact_status(
        scan_class, batch, local_storage, fake_queues):
    scan, job = submit(scan_class, *batch)
    assert scan.page_count == 7

    result = handlers.omr_grading(job, Ctx())

    assert result == {"pages": 7, "graded": 3, "review": 2, "unreadable": 2}
    got = {s.page_number: s for s in sheets(scan)}
    students = scan_class["students"]
    summary = {n: (s.status, s.review_reasons, s.student_id, s.identifier) for n, s in got.items()}
    assert summary == {
        1: ("GRADED", [], students["kim"].id, KIM),
        2: ("UNREADABLE", ["EMPTY_IMAGE"], None, ""),
        3: ("UNREADABLE", ["MARKERS_NOT_FOUND"], None, ""),
        4: ("GRADED", [], students["lee"].id, LEE),
        5: ("REVIEW", ["UNKNOWN_STUDENT"], None, "99990000"),
        6: ("GRADED", [], students["park"].id, PARK),
        # Kim's second sheet: the first keeps counting, this one waits for a teacher.
        7: ("REVIEW", ["DUPLICATE_STUDENT"], students["kim"].id, KIM),
    }
    right = [[c] for c in ANSWER_KEY]
    assert got[1].answers == right and got[7].answers == right
    assert got[4].answers == [*right[:2], [2, 3], *right[3:9], []]
    assert got[4].states[2:3] + got[4].states[9:] == ["MULTIPLE", "BLANK"]
    assert got[6].answers == [[2], *right[1:]]
    assert [(got[n].score, got[n].correct_count) for n in (1, 4, 6)] == [
        (Decimal("100.00"), 10), (Decimal("80.00"), 8), (Decimal("90.00"), 9)]
    assert got[2].answers == [] and got[2].score is None and got[2].aligned_image_key == ""
    assert all(got[n].alignment_quality >= 0.6 for n in (1, 4, 5, 6, 7))
    assert len(got[1].fills["questions"]) == 10 and len(got[1].fills["identifier"]) == 8
    assert all(s.graded_revision == scan_class["exam"].revision for s in got.values())
    # The aligned pages are kept for review, beside the uploaded files.
    for n in (1, 4, 5, 6, 7):
        assert get_storage().exists("ai", got[n].aligned_image_key)
        assert got[n].aligned_image_key == f"exams/{scan.tenant_id}/{scan.exam_id}/{scan.id}/aligned/{n}.jpg"
    scan.refresh_from_db()
    assert scan.state == ScanState.DONE and scan.finished_at is not None
    assert ctx_progress_ends_at_100(job, scan_class)


def ctx_progress_ends_at_100(job, scan_class) -> bool:
    ctx = Ctx()
    handlers.omr_grading(job, ctx)  # a redelivery after the end grades nothing and reports nothing
    return ctx.progress_calls == [] and ExamSheet.objects.filter(exam=scan_class["exam"]).count() == 7


def test_siblings_sharing_a_parent_phone_go_to_review(scan_class, make_student, make_enrollment, local_storage,
                                                      fake_queues):
    sibling = make_student(scan_class["exam"].tenant, name="park2", parent_phone=PARENT_PHONES["park"])
    make_enrollment(scan_class["lecture"], sibling)
    scan, job = submit(scan_class, ("p.png", png(filled_sheet(scan_class["exam"], identifier=PARK, answers=RIGHT))))

    handlers.omr_grading(job, Ctx())

    [sheet] = sheets(scan)
    assert (sheet.status, sheet.review_reasons, sheet.student_id, sheet.answers) == (
        "REVIEW", ["AMBIGUOUS_STUDENT"], None, [[c] for c in ANSWER_KEY])


def test_a_students_second_sheet_waits_for_review_and_the_first_keeps_counting(scan_class, local_storage,
                                                                               fake_queues):
    exam = scan_class["exam"]
    first, first_job = submit(scan_class, ("a.png", png(filled_sheet(exam, identifier=KIM, answers=RIGHT))))
    handlers.omr_grading(first_job, Ctx())
    again, again_job = submit(scan_class, ("b.png", png(filled_sheet(exam, identifier=KIM, answers=RIGHT, seed=7))))

    result = handlers.omr_grading(again_job, Ctx())

    [counted], [second] = sheets(first), sheets(again)
    assert (counted.status, second.status) == ("GRADED", "REVIEW")
    assert second.review_reasons == ["DUPLICATE_STUDENT"] and second.student_id == counted.student_id
    assert result == {"pages": 1, "graded": 0, "review": 1, "unreadable": 0}


def test_a_stopped_attempt_keeps_its_pages_and_the_retry_grades_only_the_pages_left(
        scan_class, local_storage, fake_queues, monkeypatch):
    exam = scan_class["exam"]
    pages = [filled_sheet(exam, identifier=KIM, answers=RIGHT, seed=n) for n in range(4)]
    scan, job = submit(scan_class, ("stack.pdf", pdf(pages)))

    with pytest.raises(JobInterrupted) as stopped:
        handlers.omr_grading(job, Ctx(stop_after=2))
    assert stopped.value.details == {"pages_done": 2, "pages": 4}
    assert [s.page_number for s in sheets(scan)] == [1, 2]
    first_ids = [s.id for s in sheets(scan)]

    graded_pages = []
    real_grade = handlers.grade_page
    monkeypatch.setattr(handlers, "grade_page", lambda image, layout: graded_pages.append(1) or real_grade(image,
                                                                                                          layout))
    result = handlers.omr_grading(job, Ctx())

    assert len(graded_pages) == 2
    # Four sheets of one student: one counts, three wait for review as duplicates.
    assert result == {"pages": 4, "graded": 1, "review": 3, "unreadable": 0}
    assert [s.page_number for s in sheets(scan)] == [1, 2, 3, 4]
    assert [s.id for s in sheets(scan)][:2] == first_ids


def test_two_attempts_recording_the_same_page_record_it_once(scan_class, local_storage, fake_queues, monkeypatch):
    # As a taken-over attempt that read the done pages before the other recorded them: both grade page 1.
    scan, job = submit(scan_class, ("p.png", png(filled_sheet(scan_class["exam"], identifier=KIM, answers=RIGHT))))
    handlers.omr_grading(job, Ctx())
    first = sheets(scan)
    monkeypatch.setattr(handlers, "_done_pages", lambda scan: set())

    handlers.omr_grading(job, Ctx())

    assert sheets(scan) == first and [s.updated_at for s in sheets(scan)] == [s.updated_at for s in first]


def test_a_missing_file_and_an_undecodable_image_are_unreadable_pages_not_a_failed_job(
        scan_class, local_storage, fake_queues, monkeypatch):
    exam = scan_class["exam"]
    scan, job = submit(scan_class, ("a.png", png(filled_sheet(exam, identifier=KIM, answers=RIGHT))),
                       ("b.pdf", pdf([filled_sheet(exam, identifier=LEE, answers=RIGHT)] * 2)),
                       ("c.png", png(filled_sheet(exam, identifier=PARK, answers=RIGHT))))
    get_storage().delete("ai", scan.files[1]["key"])
    get_storage().put("ai", scan.files[2]["key"], b"\x89PNG\r\n\x1a\n garbage")

    result = handlers.omr_grading(job, Ctx())

    assert result == {"pages": 4, "graded": 1, "review": 0, "unreadable": 3}
    assert [(s.status, s.review_reasons) for s in sheets(scan)] == [
        ("GRADED", []), ("UNREADABLE", ["FILE_MISSING"]), ("UNREADABLE", ["FILE_MISSING"]),
        ("UNREADABLE", ["FILE_INVALID"])]


def test_an_exception_grading_one_page_leaves_the_others_graded(scan_class, local_storage, fake_queues,
                                                                monkeypatch):
    exam = scan_class["exam"]
    scan, job = submit(scan_class, ("s.pdf", pdf([filled_sheet(exam, identifier=KIM, answers=RIGHT)] * 3)))
    real_grade, calls = handlers.grade_page, []

    def flaky(image, layout):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("a page too much for this worker")
        return real_grade(image, layout)

    monkeypatch.setattr(handlers, "grade_page", flaky)
    handlers.omr_grading(job, Ctx())

    assert [(s.status, s.review_reasons) for s in sheets(scan)] == [
        ("GRADED", []), ("UNREADABLE", ["GRADING_ERROR"]), ("REVIEW", ["DUPLICATE_STUDENT"])]


def test_a_scan_whose_job_failed_is_failed_and_a_purged_scan_is_not_graded(scan_class, local_storage, fake_queues):
    scan, job = submit(scan_class, ("p.png", png(blank_page())))
    Job.objects.filter(id=job.id).update(state=JobState.FAILED)
    handlers.omr_grading_ended(Job.objects.get(id=job.id))
    scan.refresh_from_db()
    assert scan.state == ScanState.FAILED

    ExamScan.objects.filter(id=scan.id).update(purged_at=timezone.now() - timedelta(days=1))
    from apps.jobs.errors import JobFailure
    with pytest.raises(JobFailure) as failed:
        handlers.omr_grading(job, Ctx())
    assert failed.value.code == "EXAM_SCAN_PURGED"


def test_a_job_of_another_academy_cannot_grade_this_scan(scan_class, local_storage, fake_queues, other_tenant):
    _scan, job = submit(scan_class, ("p.png", png(blank_page())))
    Job.objects.filter(id=job.id).update(tenant=other_tenant)
    from apps.jobs.errors import JobFailure
    with pytest.raises(JobFailure) as failed:
        handlers.omr_grading(Job.objects.get(id=job.id), Ctx())
    assert failed.value.code == "EXAM_SCAN_NOT_FOUND"


# ---------------------------------------------------------------------------------------------------- SIGKILL

@pytest.fixture
def table_queue(settings):
    from apps.integrations.queues import get_queues, reset_queues_for_tests

    settings.QUEUE_BACKEND = "table"
    reset_queues_for_tests()
    yield get_queues()
    reset_queues_for_tests()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_ai_worker_sigkilled_mid_batch_is_taken_over_and_no_page_is_graded_twice(
        scan_class, local_storage, table_queue, live_server, tmp_path, settings):
    import signal

    from apps.jobs.services import job_scan_stuck
    from apps.worker.tests.support import start_worker, wait_until

    pages = 30
    sheet = filled_sheet(scan_class["exam"], identifier=KIM, answers=RIGHT)
    scan, job = submit(scan_class, ("stack.pdf", pdf([sheet] * pages)))
    environment = {"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(settings.LOCAL_STORAGE_DIR),
                   "AI_VISIBILITY_WINDOW_SECONDS": "3"}
    recorded = ExamSheet.objects.filter(scan=scan)

    first = start_worker("ai", api_url=live_server.url, log_dir=tmp_path, name="ai1", **environment)
    try:
        wait_until(lambda: recorded.count() >= 3, timeout=60)  # mid-batch: some pages recorded, most not
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
        before = {s.page_number: (s.id, s.created_at) for s in recorded}
        assert 3 <= len(before) < pages, len(before)

        # Its heartbeat stops: the scheduler's scan requeues the job and another worker takes it over.
        Job.objects.filter(id=job.id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
        job_scan_stuck(kind="omr_grading")
        second = start_worker("ai", api_url=live_server.url, log_dir=tmp_path, name="ai2", **environment)
        try:
            wait_until(lambda: Job.objects.get(id=job.id).state == JobState.DONE, timeout=90)
            # The killed worker's message comes back after its hold window: the job is done, so it is dropped.
            wait_until(lambda: table_queue.depth(job.queue) == 0, timeout=30)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.DONE, 2)
    # Thirty sheets of one student: the first counts, the rest wait for review as duplicates.
    assert job.result == {"pages": pages, "graded": 1, "review": pages - 1, "unreadable": 0}
    assert sorted(recorded.values_list("page_number", flat=True)) == list(range(1, pages + 1))
    # The pages the killed worker recorded were not graded again: same rows, same times.
    assert {s.page_number: (s.id, s.created_at) for s in recorded if s.page_number in before} == before
    assert all(s.created_at > max(t for _, t in before.values()) for s in recorded if s.page_number not in before)
    scan.refresh_from_db()
    assert scan.state == ScanState.DONE
    job_finished_at = job.finished_at
    job.refresh_from_db()
    assert (job.state, job.attempts, job.finished_at) == (JobState.DONE, 2, job_finished_at)
