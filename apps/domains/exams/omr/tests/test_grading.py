"""The OMR grader on sheets made from the real PDF (sheet_pdf → pypdfium2 → fill_bubbles) and perturbed like scans and
phone photos: each sheet's exact status and answers, and zero silently wrong sheets over a randomised set."""

from __future__ import annotations

import functools
from decimal import Decimal

import cv2
import numpy as np
import pytest

from apps.domains.exams.omr import grading, scoring
from apps.domains.exams.omr.grading import MarkState, PageStatus, grade_page
from apps.domains.exams.omr.layout import sheet_layout
from apps.domains.exams.omr.render import fill_bubbles, render_page
from apps.domains.exams.omr.scoring import SheetStatus, decide_sheet
from apps.domains.exams.omr.sheet_pdf import sheet_pdf

from . import synth

QUESTIONS = 30
CHOICES = 5


@functools.cache
def _layout(questions: int = QUESTIONS, choices: int = CHOICES) -> dict:
    return sheet_layout(questions, choices)


@functools.cache
def _blank(dpi: int, questions: int = QUESTIONS, choices: int = CHOICES) -> np.ndarray:
    pdf = sheet_pdf(_layout(questions, choices), "3월 모의고사 수학", "2026-03-14 고2 A반")
    image, _ = render_page(pdf, dpi)
    image.setflags(write=False)
    return image


def _answers(seed: int, questions: int = QUESTIONS, choices: int = CHOICES) -> dict[int, int]:
    rng = np.random.default_rng(seed)
    return {q: int(rng.integers(1, choices + 1)) for q in range(1, questions + 1)}


def _sheet(dpi: int, marks: dict, *, seed: int = 0, style: str = "pencil") -> np.ndarray:
    return fill_bubbles(_blank(dpi), _layout(), dpi, marks, style=style, seed=seed)


def _read(reading) -> dict[int, tuple[str, list[int]]]:
    return {a.number: (a.state.value, a.choices_marked) for a in reading.answers}


def _expect_one(answers: dict[int, int]) -> dict[int, tuple[str, list[int]]]:
    return {q: ("ONE", [c]) for q, c in answers.items()}


KEY = list(_answers(99).values())
STUDENTS = {"12345678": "student-1", "87654321": "student-2", "55550000": ["sibling-a", "sibling-b"]}


# --- the sheets the issue lists -----------------------------------------------------------------------------------


def _standard_marks(seed: int):
    """Every question answered in pencil, except 3 (double), 5 (blank), 9 (erased beside the real mark), 11 (pen)."""
    answers = _answers(seed)
    marks = {"answers": dict(answers), "identifier": "12345678"}
    marks["answers"][3] = [2, 4]
    del marks["answers"][5]
    other = answers[9] % CHOICES + 1
    marks["answers"][9] = [answers[9], {"choice": other, "style": "erased"}]
    marks["answers"][11] = {"choice": answers[11], "style": "pen"}
    expected = _expect_one(answers)
    expected[3] = ("MULTIPLE", [2, 4])
    expected[5] = ("BLANK", [])
    return marks, expected


@pytest.mark.parametrize(
    ("name", "dpi", "perturb"),
    [
        ("clean 300 dpi scan", 300, lambda img, rng: img),
        ("150 dpi scan", 150, lambda img, rng: img),
        ("rotated 3°", 200, lambda img, rng: synth.rotate(img, 3.0)),
        ("rotated -2.5° and JPEG", 200, lambda img, rng: synth.jpeg(synth.rotate(img, -2.5), 75)),
        ("phone photo: perspective, shadow, JPEG", 200, lambda img, rng: synth.phone_photo(img, rng)),
    ],
)
def test_a_sheet_reads_exactly(name, dpi, perturb):
    marks, expected = _standard_marks(seed=7)
    image = perturb(_sheet(dpi, marks, seed=3), np.random.default_rng(11))

    reading = grade_page(image, _layout())

    assert reading.status == PageStatus.READ, name
    assert reading.review_reasons == [], (name, reading.review_reasons, reading.stats)
    assert reading.alignment_quality >= grading.ALIGN_MIN_QUALITY
    assert reading.identifier_text == "12345678"
    assert _read(reading) == expected, name
    assert reading.aligned is not None and reading.aligned.shape == (
        round(_layout()["page"]["height"] * grading.WORK_PX_PER_PT),
        round(_layout()["page"]["width"] * grading.WORK_PX_PER_PT),
    )

    outcome = decide_sheet(reading, KEY, 2, STUDENTS)
    assert outcome.status == SheetStatus.GRADED
    assert outcome.student == "student-1"
    truth = {q: m for q, (_, m) in expected.items()}
    right = sum(1 for q, m in truth.items() if m == [KEY[q - 1]])
    assert outcome.correct_count == right
    assert outcome.score == Decimal(2 * right)
    # A double mark is wrong even when one of its marks is the key's choice.
    assert outcome.questions[2].correct is False


def test_light_pencil_marks_are_read():
    answers = _answers(21)
    marks = {"answers": {q: {"choice": c, "style": "light"} for q, c in answers.items()}, "identifier": "87654321"}
    reading = grade_page(_sheet(200, marks, seed=5, style="light"), _layout())
    assert reading.review_reasons == [], reading.stats
    assert reading.identifier_text == "87654321"
    assert _read(reading) == _expect_one(answers)


def test_light_marks_on_a_pencil_page_are_read():
    answers = _answers(22)
    marks = {"answers": dict(answers), "identifier": "87654321"}
    for q in (4, 8, 15):
        marks["answers"][q] = {"choice": answers[q], "style": "light"}
    reading = grade_page(_sheet(200, marks, seed=6), _layout())
    assert reading.review_reasons == [], reading.stats
    assert _read(reading) == _expect_one(answers)


def test_an_erased_mark_beside_the_real_one_reads_as_the_real_one():
    answers = _answers(23)
    marks = {"answers": dict(answers), "identifier": "12345678"}
    for q in (2, 6, 10, 14):
        marks["answers"][q] = [{"choice": answers[q] % CHOICES + 1, "style": "erased"}, answers[q]]
    marks["answers"][18] = [{"choice": answers[18] % CHOICES + 1, "style": "erased"},
                            {"choice": answers[18], "style": "pen"}]
    reading = grade_page(_sheet(200, marks, seed=7), _layout())
    assert reading.review_reasons == []
    assert _read(reading) == _expect_one(answers)


def test_double_marks_are_multiple_whatever_the_pen():
    answers = _answers(24)
    marks = {"answers": dict(answers), "identifier": "12345678"}
    marks["answers"][1] = [1, 2]
    marks["answers"][2] = [{"choice": 1, "style": "pen"}, {"choice": 5, "style": "pen"}]
    marks["answers"][3] = [{"choice": 2, "style": "pen"}, 3]  # pen and pencil: both clear marks
    marks["answers"][4] = [1, 2, 3]
    reading = grade_page(_sheet(200, marks, seed=8), _layout())
    read = _read(reading)
    assert read[1] == ("MULTIPLE", [1, 2])
    assert read[2] == ("MULTIPLE", [1, 5])
    assert read[3] == ("MULTIPLE", [2, 3])
    assert read[4] == ("MULTIPLE", [1, 2, 3])
    assert reading.review_reasons == []
    outcome = decide_sheet(reading, [1, 1, 2, 1, *KEY[4:]], 1, STUDENTS)
    assert outcome.status == SheetStatus.GRADED
    assert [q.correct for q in outcome.questions[:4]] == [False, False, False, False]


def test_a_mark_neither_residue_nor_a_second_mark_goes_to_review():
    answers = _answers(25)
    marks = {"answers": dict(answers), "identifier": "12345678"}
    # A light pencil mark beside a full one: not clearly a second mark, not clearly an erasure.
    marks["answers"][12] = [answers[12], {"choice": answers[12] % CHOICES + 1, "style": "light"}]
    # A dot, not a fill.
    marks["answers"][13] = {"choice": answers[13], "style": "pencil", "coverage": 0.3}
    # A half-hearted second mark (light, two thirds of the bubble) beside a full one: maybe a double mark, maybe a
    # heavy erasure; reading it as the full one alone would be a guess.
    marks["answers"][14] = [answers[14], {"choice": answers[14] % CHOICES + 1, "style": "light", "coverage": 0.65}]
    reading = grade_page(_sheet(200, marks, seed=9), _layout())
    read = _read(reading)
    assert read[12] == ("UNCERTAIN", [])
    assert read[14] == ("UNCERTAIN", []), reading.answers[13].fills
    assert read[13][0] in ("UNCERTAIN", "BLANK")  # never a confident ONE from a dot
    assert read[13][0] == "UNCERTAIN"
    assert grading.REASON_AMBIGUOUS_MARK in reading.review_reasons
    outcome = decide_sheet(reading, KEY, 1, STUDENTS)
    assert outcome.status == SheetStatus.REVIEW
    assert outcome.questions[11].correct is None
    assert {q: m for q, (s, m) in read.items() if s == "ONE"} == {
        q: [c] for q, c in answers.items() if q not in (12, 13, 14)
    }


def test_a_blank_identifier_digit_is_never_read_as_zero():
    marks = {"answers": _answers(26), "identifier": "1234 678"}
    reading = grade_page(_sheet(200, marks, seed=10), _layout())
    assert reading.identifier[4].state == MarkState.BLANK
    assert reading.identifier[4].value is None
    assert reading.identifier_text is None
    assert reading.review_reasons == [grading.REASON_ID_DIGIT_BLANK]
    outcome = decide_sheet(reading, KEY, 1, {**STUDENTS, "12340678": "zero-student"})
    assert outcome.status == SheetStatus.REVIEW
    assert outcome.student is None
    assert outcome.reasons == [grading.REASON_ID_DIGIT_BLANK]


def test_a_double_identifier_digit_goes_to_review():
    marks = {"answers": _answers(27), "identifier": [1, 2, 3, [4, 7], 5, 6, 7, 8]}
    reading = grade_page(_sheet(200, marks, seed=11), _layout())
    assert reading.identifier[3].state == MarkState.MULTIPLE
    assert reading.identifier[3].value is None
    assert reading.review_reasons == [grading.REASON_ID_DIGIT_MULTIPLE]
    assert decide_sheet(reading, KEY, 1, STUDENTS).status == SheetStatus.REVIEW


@pytest.mark.parametrize(
    ("identifier", "status", "student", "reasons"),
    [
        ("12345678", SheetStatus.GRADED, "student-1", []),
        ("11112222", SheetStatus.REVIEW, None, [scoring.REASON_UNKNOWN_STUDENT]),
        ("55550000", SheetStatus.REVIEW, None, [scoring.REASON_AMBIGUOUS_STUDENT]),
    ],
)
def test_the_identifier_must_name_exactly_one_student(identifier, status, student, reasons):
    marks = {"answers": _answers(28), "identifier": identifier}
    reading = grade_page(_sheet(150, marks, seed=12), _layout())
    assert reading.identifier_text == identifier
    outcome = decide_sheet(reading, KEY, 1, STUDENTS)
    assert (outcome.status, outcome.student, outcome.reasons) == (status, student, reasons)


# --- pages that are not sheets ------------------------------------------------------------------------------------


def _text_page(rng) -> np.ndarray:
    page = np.full((1754, 1240), 245, np.uint8)
    for line in range(40):
        words = " ".join("".join(chr(rng.integers(65, 91)) for _ in range(rng.integers(2, 9))) for _ in range(8))
        cv2.putText(page, words, (80, 100 + line * 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 20, 2, cv2.LINE_AA)
    # a few solid squares, like bullets or a logo, that are not where a sheet's markers would be
    for x, y in ((100, 60), (1100, 1500), (600, 900)):
        page[y : y + 30, x : x + 30] = 10
    return page


def _photo(rng) -> np.ndarray:
    h, w = 1500, 2000
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = 120 + 60 * np.sin(xx / 170.0) * np.cos(yy / 230.0)
    img += rng.normal(0, 25, (h, w))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(25):
        x, y = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 200))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(20, 200))),
                      int(rng.integers(0, 256)), -1)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("text page", _text_page, grading.UNREADABLE_NO_MARKERS),
        ("photo", _photo, grading.UNREADABLE_NO_MARKERS),
        ("blank white page", lambda rng: np.full((1754, 1240), 250, np.uint8), grading.UNREADABLE_EMPTY_IMAGE),
        ("blank page with scanner noise", lambda rng: np.clip(rng.normal(240, 4, (1754, 1240)), 0, 255).astype(
            np.uint8), grading.UNREADABLE_NO_MARKERS),
        ("tiny image", lambda rng: np.zeros((10, 10), np.uint8), grading.UNREADABLE_EMPTY_IMAGE),
        ("a sheet with a corner torn off", lambda rng: _torn_sheet(), grading.UNREADABLE_NO_MARKERS),
    ],
)
def test_a_page_that_is_not_a_sheet_is_unreadable(name, make, reason):
    reading = grade_page(make(np.random.default_rng(5)), _layout())
    assert reading.status == PageStatus.UNREADABLE, name
    assert reading.reason == reason
    outcome = decide_sheet(reading, KEY, 1, STUDENTS)
    assert outcome.status == SheetStatus.UNREADABLE
    assert outcome.reasons == [reason]


def _torn_sheet() -> np.ndarray:
    image = _sheet(150, {"answers": _answers(1), "identifier": "12345678"}).copy()
    image[1500:, 1000:] = 250  # the bottom-right marker is gone
    return image


def test_odd_inputs_do_not_raise():
    layout = _layout()
    for image in (np.zeros((0, 0), np.uint8), np.zeros((100, 100, 2), np.uint8), np.ones((300, 300), np.float64),
                  np.full((300, 300), 60000, np.uint16), np.zeros((300, 300, 4), np.uint8)):
        assert grade_page(image, layout).status == PageStatus.UNREADABLE


def test_four_markers_and_nothing_else_is_never_graded():
    layout = _layout()
    k = 150 / 72.0
    page = np.full((round(layout["page"]["height"] * k), round(layout["page"]["width"] * k)), 248, np.uint8)
    for m in layout["markers"]:
        half = m["size"] / 2
        page[round((m["y"] - half) * k) : round((m["y"] + half) * k), round((m["x"] - half) * k) : round(
            (m["x"] + half) * k)] = 0
    reading = grade_page(page, layout)
    assert reading.identifier_text is None
    assert all(a.state == MarkState.BLANK for a in reading.answers)
    assert decide_sheet(reading, KEY, 1, STUDENTS).status != SheetStatus.GRADED


def test_a_layout_without_four_markers_is_a_caller_bug():
    with pytest.raises(ValueError):
        grade_page(np.zeros((100, 100), np.uint8), {**_layout(), "markers": []})


def test_a_misprinted_marker_lowers_alignment_quality_and_goes_to_review():
    # The bottom-left marker printed as a rectangle (a smeared or half-covered marker): its corners disagree with the
    # other three, so the fit's residual grows and the sheet goes to REVIEW instead of being read at guessed places.
    dpi = 150
    image = _sheet(dpi, {"answers": _answers(2), "identifier": "12345678"}).copy()
    k = dpi / 72.0
    marker = _layout()["markers"][3]
    x0, y0 = round((marker["x"] - marker["size"] / 2) * k), round((marker["y"] - marker["size"] / 2) * k)
    s = round(marker["size"] * k)
    image[y0 : y0 + s, x0 + s : x0 + s + round(8 * k)] = 0  # 8 pt wider than it should be
    reading = grade_page(image, _layout())
    assert reading.status == PageStatus.READ
    assert reading.alignment_quality < grading.ALIGN_MIN_QUALITY, reading.stats
    assert grading.REASON_LOW_ALIGNMENT in reading.review_reasons
    assert decide_sheet(reading, KEY, 1, STUDENTS).status == SheetStatus.REVIEW


def test_four_choices_and_a_hundred_questions():
    layout = sheet_layout(100, 4)
    pdf = sheet_pdf(layout, "기말고사", "")
    blank, _ = render_page(pdf, 150)
    answers = {q: (q * 7) % 4 + 1 for q in range(1, 101)}
    image = fill_bubbles(blank, layout, 150, {"answers": answers, "identifier": "01234567"}, seed=2)
    reading = grade_page(synth.jpeg(synth.rotate(image, 1.5), 80), layout)
    assert reading.review_reasons == []
    assert reading.identifier_text == "01234567"
    assert _read(reading) == _expect_one(answers)


# --- randomised: nothing read with confidence is wrong ------------------------------------------------------------


def test_randomised_sheets_are_never_silently_wrong():
    """30 sheets with random answers, styles and perturbations: every READ answer equals the truth, or the sheet went
    to REVIEW. Also bounds how many go to REVIEW, so a grader that reviews everything fails."""
    rng = np.random.default_rng(2026)
    styles = ["pencil", "pencil", "pencil", "pen", "light"]
    silently_wrong, reviewed, graded = [], 0, 0
    for index in range(30):
        answers: dict[int, list] = {}
        truth: dict[int, tuple[str, list[int]]] = {}
        for q in range(1, QUESTIONS + 1):
            roll = rng.random()
            choice = int(rng.integers(1, CHOICES + 1))
            style = styles[int(rng.integers(0, len(styles)))]
            if roll < 0.05:
                truth[q] = ("BLANK", [])
                continue
            if roll < 0.10:
                second = choice % CHOICES + 1
                answers[q] = [{"choice": choice, "style": "pencil"}, {"choice": second, "style": "pen"}]
                truth[q] = ("MULTIPLE", sorted([choice, second]))
                continue
            spec = [{"choice": choice, "style": style}]
            if roll < 0.18:
                spec.append({"choice": (choice + 1) % CHOICES + 1, "style": "erased"})
            answers[q] = spec
            truth[q] = ("ONE", [choice])
        identifier = "".join(str(d) for d in rng.integers(0, 10, 8))
        dpi = int(rng.choice([150, 200]))
        image = fill_bubbles(_blank(dpi), _layout(), dpi, {"answers": answers, "identifier": identifier},
                             seed=index)
        kind = index % 3
        if kind == 1:
            image = synth.jpeg(synth.rotate(image, float(rng.uniform(-4, 4))), int(rng.integers(60, 90)))
        elif kind == 2:
            image = synth.phone_photo(image, rng, jitter=float(rng.uniform(0.0, 0.07)),
                                      shadow=float(rng.uniform(0.0, 0.5)), out_long=int(rng.integers(1600, 2400)),
                                      jpeg_quality=int(rng.integers(55, 90)))
        reading = grade_page(image, _layout())
        assert reading.status == PageStatus.READ, index
        read = _read(reading)
        wrong = [q for q, (state, marks) in read.items() if state != "UNCERTAIN" and (state, marks) != truth[q]]
        if reading.identifier_text not in (None, identifier):
            wrong.append("identifier")
        if wrong and not reading.review_reasons:
            silently_wrong.append((index, wrong, {q: (read[q], truth[q]) for q in wrong if q != "identifier"}))
        if reading.review_reasons:
            reviewed += 1
        else:
            graded += 1
    assert silently_wrong == []
    # Light pencil beside an erasure is the only designed-in ambiguity here; most sheets must still be graded.
    assert graded >= 20, (graded, reviewed)


def test_an_upside_down_scan_is_read_the_right_way_up():
    marks, expected = _standard_marks(seed=8)
    image = synth.rotate(_sheet(150, marks, seed=4), 181.0)
    reading = grade_page(image, _layout())
    assert reading.stats["upside_down"] == 1.0
    assert reading.review_reasons == []
    assert reading.identifier_text == "12345678"
    assert _read(reading) == expected


@pytest.mark.parametrize("quarter_turns", [1, 3])
def test_a_sheet_photographed_sideways_is_read(quarter_turns):
    marks, expected = _standard_marks(seed=9)
    image = np.rot90(synth.rotate(_sheet(150, marks, seed=5), 2.0), quarter_turns)
    reading = grade_page(np.ascontiguousarray(image), _layout())
    assert reading.review_reasons == [], reading.stats
    assert reading.identifier_text == "12345678"
    assert _read(reading) == expected


def test_a_curled_page_whose_middle_is_off_goes_to_review():
    # The markers sit where they should, but the middle of the page is pushed 4 pt sideways (a curl or a fold):
    # the printed rings are not where the layout says, so the sheet goes to REVIEW, never graded at guessed places.
    dpi = 150
    marks = {"answers": _answers(31), "identifier": "12345678"}
    image = synth.bulge(_sheet(dpi, marks, seed=13), amplitude_px=4.5 * dpi / 72)
    reading = grade_page(image, _layout())
    assert reading.status == PageStatus.READ
    assert reading.stats["alignment_rms_pt"] < 1.0  # the markers alone cannot tell
    assert reading.stats["misaligned_fraction"] > grading.RING_MAX_MISALIGNED_FRACTION
    assert reading.review_reasons[0] == grading.REASON_LOW_ALIGNMENT
    assert reading.alignment_quality < grading.ALIGN_MIN_QUALITY
    assert decide_sheet(reading, KEY, 1, STUDENTS).status == SheetStatus.REVIEW


def test_a_slight_curl_is_still_read():
    marks = {"answers": _answers(32), "identifier": "12345678"}
    image = synth.bulge(_sheet(150, marks, seed=14), amplitude_px=1.0 * 150 / 72)
    reading = grade_page(image, _layout())
    assert reading.review_reasons == [], reading.stats
    assert _read(reading) == _expect_one(_answers(32))
