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
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

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
