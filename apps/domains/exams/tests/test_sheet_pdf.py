"""The printed sheet: a valid one-page A4 PDF whose Korean text is in an embedded font, drawn where the layout says."""

import re

import pypdfium2 as pdfium
import pytest

from apps.domains.exams.omr.layout import sheet_layout
from apps.domains.exams.omr.render import render_page
from apps.domains.exams.omr.sheet_pdf import DEFAULT_FONT_PATH, sheet_pdf

TITLE = "3월 2주차 수학 단원평가"


@pytest.fixture(scope="module")
def layout():
    return sheet_layout(100, 5)


@pytest.fixture(scope="module")
def pdf(layout):
    return sheet_pdf(layout, TITLE, "고2 수학 · 2026-03-14", identifier_label="학부모 전화번호 뒤 8자리")


def test_one_a4_page_with_the_korean_text_extractable(pdf):
    document = pdfium.PdfDocument(pdf)
    page = document[0]
    text = page.get_textpage().get_text_range()

    assert len(document) == 1
    assert page.get_size() == pytest.approx((595.28, 841.89), abs=0.01)
    assert TITLE in text and "고2 수학 · 2026-03-14" in text and "학부모 전화번호 뒤 8자리" in text and "이름" in text


def test_every_font_is_the_embedded_nanum_gothic(pdf):
    # A subset TrueType font: its program is in the file (FontFile2); no font is left to the reader's machine.
    base_fonts = re.findall(rb"/BaseFont /([^\s/\]>]+)", pdf)

    assert base_fonts and all(re.fullmatch(rb"[A-Z]{6}\+NanumGothic", name) for name in base_fonts)
    assert pdf.count(b"/FontFile2") == len(set(base_fonts))
    assert DEFAULT_FONT_PATH.is_file() and (DEFAULT_FONT_PATH.parent / "OFL.txt").is_file()


def test_same_input_same_bytes(layout, pdf):
    assert sheet_pdf(layout, TITLE, "고2 수학 · 2026-03-14", identifier_label="학부모 전화번호 뒤 8자리") == pdf


def test_markers_and_rings_print_where_the_layout_puts_them(layout, pdf):
    image, scale = render_page(pdf, 150)

    for marker in layout["markers"]:
        half = marker["size"] / 2 * scale
        x, y = marker["x"] * scale, marker["y"] * scale
        inner = image[round(y - half * 0.8):round(y + half * 0.8), round(x - half * 0.8):round(x + half * 0.8)]
        ring = image[round(y - half * 2):round(y + half * 2), round(x - half * 2):round(x + half * 2)]
        assert inner.max() < 60  # solid black
        assert (ring > 200).mean() > 0.6  # on white paper: the quiet zone
    for bubble in [layout["questions"][0]["choices"][0], layout["questions"][99]["choices"][4],
                   layout["identifier"][7][9]]:
        x, y, r = (bubble[k] * scale for k in ("x", "y", "r"))
        # Dark on the printed ring (left and right of the centre), paper just outside it.
        assert min(image[round(y), round(x - r)], image[round(y), round(x + r)]) < 200
        assert image[round(y), round(x - r - 3)] > 230 and image[round(y), round(x + r + 3)] > 230


def test_few_questions_print_only_those():
    pdf = sheet_pdf(sheet_layout(3, 4), "쪽지시험")
    lines = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range().splitlines()

    # Each question row reads as its number then its choices; eight identifier columns of 0-9 before them.
    assert lines[0] == "쪽지시험"
    assert lines[-3:] == ["1 1 2 3 4", "2 1 2 3 4", "3 1 2 3 4"]
    assert lines.count("9") == 8
