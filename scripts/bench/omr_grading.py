"""Benchmark of the OMR grading core (ARCHITECTURE §3 Exams and OMR): sheets per second and accuracy.

Generates a set of filled sheets from the real PDF (half clean scans as PNG, half phone photos as JPEG: perspective,
shadow, blur, noise), then grades them from file bytes — decode (cv2.imdecode, grayscale), grade_page, decide_sheet —
in a pool of worker processes (OpenCV single-threaded in each, as in the AI worker), and prints:
  sheets/s (wall clock, generation excluded), bubbles right, sheets GRADED / REVIEW / UNREADABLE per kind, and
  sheets silently wrong (GRADED but not matching the truth) — the one number that must be 0.
Targets (issue 13): >= 20 sheets/s on 2 cores, 100 % on clean scans, 0 silently wrong, REVIEW <= 5 % of photos.
The load average is printed before and after: on a shared box the wall-clock rate is a lower bound, so the CPU time per
sheet (decode included) and the rate it gives on idle cores are printed too.

    .venv/bin/python scripts/bench/omr_grading.py [--sheets 100] [--workers 2] [--questions 30] [--seed 1]

--pdf-pages N measures the full path instead, from file bytes to recorded ExamSheet rows: an N-page scanned PDF (JPEG
pages at 200 dpi, as scanners write them) goes through the upload check and storage (exams/scans.py) and the
`omr_grading` handler (render page by page, grade, decide, store the aligned image, INSERT the sheet) in one process,
as one AI worker runs one job. It prints sheets/s, the per-status counts, sheets silently wrong, and the process's
peak RSS (target <= 400 MB for 100 pages). It needs PostgreSQL: Django's test database of DB_NAME (made once, kept),
so DB_NAME=academy_bench by default and nothing of a real database is touched.

    DB_NAME=academy_bench .venv/bin/python scripts/bench/omr_grading.py --pdf-pages 100
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from apps.domains.exams.omr.grading import grade_page  # noqa: E402
from apps.domains.exams.omr.layout import sheet_layout  # noqa: E402
from apps.domains.exams.omr.render import encode_image, fill_bubbles, photograph, render_page  # noqa: E402
from apps.domains.exams.omr.scoring import SheetStatus, decide_sheet  # noqa: E402
from apps.domains.exams.omr.sheet_pdf import sheet_pdf  # noqa: E402

CHOICES = 5
STYLES = ("pencil", "pencil", "pencil", "pen", "light")


def generate(count: int, questions: int, seed: int):
    layout = sheet_layout(questions, CHOICES)
    pdf = sheet_pdf(layout, "벤치마크 모의고사", "OMR grading benchmark")
    blanks = {dpi: render_page(pdf, dpi)[0] for dpi in (150, 200, 300)}
    rng = np.random.default_rng(seed)
    sheets = []
    for index in range(count):
        answers, truth = {}, {}
        for q in range(1, questions + 1):
            roll, choice = rng.random(), int(rng.integers(1, CHOICES + 1))
            if roll < 0.04:
                truth[q] = ("BLANK", [])
            elif roll < 0.08:
                other = choice % CHOICES + 1
                answers[q] = [choice, {"choice": other, "style": "pen"}]
                truth[q] = ("MULTIPLE", sorted([choice, other]))
            else:
                spec = [{"choice": choice, "style": STYLES[int(rng.integers(0, len(STYLES)))]}]
                if roll < 0.14:
                    spec.append({"choice": (choice + 1) % CHOICES + 1, "style": "erased"})
                answers[q] = spec
                truth[q] = ("ONE", [choice])
        identifier = "".join(str(d) for d in rng.integers(0, 10, 8))
        photo = index % 2 == 1
        dpi = 200 if photo else int(rng.choice([150, 300]))
        image = fill_bubbles(blanks[dpi], layout, dpi, {"answers": answers, "identifier": identifier}, seed=index)
        if photo:
            image = photograph(image, rotate=float(rng.uniform(-5, 5)), perspective=float(rng.uniform(0, 0.05)),
                               shadow=float(rng.uniform(0, 0.5)), blur=float(rng.uniform(0, 1.2)),
                               noise=float(rng.uniform(0, 4)), margin=0.08, background=int(rng.integers(40, 140)),
                               seed=index)
            data = encode_image(image, fmt="jpeg", quality=int(rng.integers(60, 92)))
        else:
            data = encode_image(image, fmt="png")
        sheets.append({"kind": "photo" if photo else f"scan{dpi}", "data": data, "truth": truth, "id": identifier})
    return layout, sheets


_LAYOUT: dict = {}


def _init(layout: dict) -> None:
    cv2.setNumThreads(1)
    _LAYOUT.update(layout)


def _grade(args):
    data, identifier = args
    cpu = time.process_time()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    reading = grade_page(image, _LAYOUT)
    key = [1] * len(_LAYOUT["questions"])
    outcome = decide_sheet(reading, key, 1, {identifier: "student"})
    answers = {a.number: (a.state.value, a.choices_marked) for a in reading.answers}
    return outcome.status.value, outcome.reasons, reading.identifier_text, answers, time.process_time() - cpu


# --- the full path: file bytes → ExamSheet rows through the handler -------------------------------------------------
DISTINCT_SHEETS = 10  # the PDF cycles over this many filled sheets, so generating it stays small


def _django(db_name: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.api.config.settings.test")
    os.environ.setdefault("DB_NAME", "academy_bench")
    if db_name:
        os.environ["DB_NAME"] = db_name
    import django

    django.setup()


def _rss(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident set, MB. Not ru_maxrss: Linux carries that over from
    the parent across fork and exec, so it would count the generator's memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _child_setup() -> None:
    """Create (or keep) the test database of DB_NAME, migrated; print its name. A process apart: migrating costs
    memory the measured process must not carry."""
    _django()
    from django.db import connection

    print(connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True))


def _child_measure(pdf_path: str, truth_path: str, questions: int) -> None:
    """In the migrated database: one OPEN exam whose lecture holds the sheets' students, the PDF submitted as an upload
    and graded by the handler; prints a JSON line with the timings and the peak RSS."""
    _django()
    import datetime
    import uuid

    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.core.models import Tenant
    from apps.domains.enrollment.models import Enrollment
    from apps.domains.exams import handlers
    from apps.domains.exams.models import Exam, ExamSheet, ExamState
    from apps.domains.exams.scans import scan_submit
    from apps.domains.lectures.models import Lecture
    from apps.domains.students.models import Student
    from apps.integrations import storage as storage_module
    from apps.jobs.models import Job

    truth = json.loads(Path(truth_path).read_text())
    work = tempfile.mkdtemp(prefix="omr-bench-")
    settings.STORAGE_BACKEND, settings.LOCAL_STORAGE_DIR = "local", Path(work)
    storage_module.reset_storage_for_tests()
    code = f"bench{uuid.uuid4().hex[:8]}"
    tenant = Tenant.objects.create(code=code, name="벤치마크 학원")
    lecture = Lecture.objects.create(tenant=tenant, title="벤치마크")
    for index, sheet in enumerate(truth["sheets"]):
        student = Student.objects.create(tenant=tenant, name=f"학생{index}", parent_phone="010" + sheet["id"])
        Enrollment.objects.create(tenant=tenant, lecture=lecture, student=student)
    exam = Exam.objects.create(tenant=tenant, lecture=lecture, title="벤치마크 모의고사", date=datetime.date.today(),
                               question_count=questions, choice_count=CHOICES, answer_key=[1] * questions,
                               state=ExamState.OPEN)

    class Ctx:
        stop_requested = False

        def progress(self, percent, stage=""):
            pass

    rss_before = _rss()
    started = time.perf_counter()
    cpu = time.process_time()
    data = Path(pdf_path).read_bytes()
    scan, job = scan_submit(tenant=tenant, exam=exam, created_by=None,
                            uploads=[SimpleUploadedFile("stack.pdf", data, content_type="application/pdf")])
    del data
    submitted = time.perf_counter() - started
    result = handlers.omr_grading(Job.objects.get(id=job.id), Ctx())
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    silently_wrong = 0
    for sheet in ExamSheet.objects.filter(scan=scan).select_related("student"):
        expected = truth["sheets"][(sheet.page_number - 1) % len(truth["sheets"])]
        if sheet.status == "GRADED":
            read = {str(n): (state, marks) for n, (state, marks) in
                    enumerate(zip(sheet.states, sheet.answers, strict=True), start=1)}
            if read != {q: tuple(t) for q, t in expected["truth"].items()} or sheet.identifier != expected["id"]:
                silently_wrong += 1
    print(json.dumps({"pages": scan.page_count, "result": result, "seconds": elapsed, "submit_seconds": submitted,
                      "cpu_seconds": cpu, "rss_before_mb": rss_before, "peak_rss_mb": _rss(),
                      "silently_wrong": silently_wrong, "pdf_mb": os.path.getsize(pdf_path) / 2**20}))


def handler_bench(pages: int, questions: int, seed: int) -> None:
    from PIL import Image

    started = time.perf_counter()
    _, sheets = generate(DISTINCT_SHEETS * 2, questions, seed)
    scans = [s for s in sheets if s["kind"] != "photo"][:DISTINCT_SHEETS]
    images = []
    for sheet in scans:
        # Every page at 200 dpi, the resolution the PDF declares, whatever the generator drew it at.
        image = cv2.imdecode(np.frombuffer(sheet["data"], np.uint8), cv2.IMREAD_GRAYSCALE)
        factor = 200 / int(sheet["kind"].removeprefix("scan"))
        images.append(Image.fromarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)))
    with tempfile.TemporaryDirectory(prefix="omr-bench-") as work:
        pdf_path, truth_path = Path(work) / "stack.pdf", Path(work) / "truth.json"
        ordered = [images[i % len(images)] for i in range(pages)]
        ordered[0].save(pdf_path, "PDF", save_all=True, append_images=ordered[1:], resolution=200.0, quality=85)
        truth = {"sheets": [{"id": s["id"], "truth": {str(q): [state, marks] for q, (state, marks) in
                                                      s["truth"].items()}} for s in scans]}
        truth_path.write_text(json.dumps(truth))
        del images, ordered, sheets
        print(f"generated a {pages}-page PDF ({pdf_path.stat().st_size / 2**20:.1f} MB) in "
              f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()}")
        me = [sys.executable, str(Path(__file__).resolve())]
        db_name = subprocess.run([*me, "--child-setup"], check=True, capture_output=True, text=True).stdout.split()[-1]
        out = subprocess.run([*me, "--child-measure", str(pdf_path), str(truth_path), "--questions", str(questions)],
                             check=True, stdout=subprocess.PIPE, text=True, env={**os.environ, "DB_NAME": db_name})
        found = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{found['pages']} pages from file bytes to ExamSheet rows in {found['seconds']:.2f} s "
          f"(upload check + store {found['submit_seconds']:.2f} s): {found['pages'] / found['seconds']:.1f} sheets/s "
          f"in one worker process; CPU {1000 * found['cpu_seconds'] / found['pages']:.1f} ms per sheet")
    print(f"result {found['result']}; sheets silently wrong: {found['silently_wrong']} (the PDF repeats "
          f"{DISTINCT_SHEETS} distinct students' sheets: each repeat is REVIEW DUPLICATE_STUDENT by design)")
    print(f"peak RSS {found['peak_rss_mb']:.0f} MB (before the upload, Django and the exam set up: "
          f"{found['rss_before_mb']:.0f} MB; target <= 400 MB); load average {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pdf-pages", type=int, default=0,
                        help="measure the full path (upload check, storage, handler, rows) on a PDF of this many pages")
    parser.add_argument("--child-setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_setup:
        return _child_setup()
    if args.child_measure:
        return _child_measure(*args.child_measure, questions=args.questions)
    if args.pdf_pages:
        return handler_bench(args.pdf_pages, args.questions, args.seed)

    started = time.perf_counter()
    layout, sheets = generate(args.sheets, args.questions, args.seed)
    print(f"generated {len(sheets)} sheets in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()}")

    with multiprocessing.get_context("spawn").Pool(args.workers, initializer=_init, initargs=(layout,)) as pool:
        pool.map(_grade, [(sheets[0]["data"], sheets[0]["id"])] * args.workers)  # warm the workers up
        started = time.perf_counter()
        results = pool.map(_grade, [(s["data"], s["id"]) for s in sheets], chunksize=4)
        elapsed = time.perf_counter() - started
    print(f"graded {len(sheets)} sheets in {elapsed:.2f} s: {len(sheets) / elapsed:.1f} sheets/s "
          f"with {args.workers} workers; load average {os.getloadavg()}")
    # On a shared box the wall clock counts the neighbours too; CPU time per sheet gives the rate on idle cores.
    cpu = sum(r[4] for r in results) / len(results)
    print(f"CPU per sheet {1000 * cpu:.1f} ms: {args.workers / cpu:.1f} sheets/s on {args.workers} idle cores")

    bubbles_right = bubbles = silently_wrong = 0
    by_kind: dict[str, dict[str, int]] = {}
    reasons: dict[str, int] = {}
    for sheet, (status, why, identifier, answers, _) in zip(sheets, results, strict=True):
        counts = by_kind.setdefault(sheet["kind"], {"sheets": 0, "GRADED": 0, "REVIEW": 0, "UNREADABLE": 0})
        counts["sheets"] += 1
        counts[status] += 1
        for reason in why:
            reasons[reason] = reasons.get(reason, 0) + 1
        right = {q: answers.get(q) == t for q, t in sheet["truth"].items()}
        bubbles += len(right)
        bubbles_right += sum(right.values())
        if status == SheetStatus.GRADED and (not all(right.values()) or identifier != sheet["id"]):
            silently_wrong += 1
    print(f"questions read right: {bubbles_right}/{bubbles} ({100 * bubbles_right / max(bubbles, 1):.2f} %)")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:8s} {counts}")
    print(f"review reasons: {reasons or 'none'}")
    print(f"sheets silently wrong: {silently_wrong}")


if __name__ == "__main__":
    main()
