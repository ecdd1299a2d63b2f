"""Rendering the real sheet and filling it the way students do: what the grader's tests are built on."""

import io
import math

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest

from apps.domains.exams.omr.layout import sheet_layout
from apps.domains.exams.omr.render import encode_image, fill_bubbles, photograph, render_page, render_pages
from apps.domains.exams.omr.sheet_pdf import sheet_pdf


@pytest.fixture(scope="module")
def layout():
    return sheet_layout(20, 5)


@pytest.fixture(scope="module")
def pdf(layout):
    return sheet_pdf(layout, "단원평가", "고1 수학")


def mean_inside(image, bubble, scale, fraction=0.6):
    """The mean grey level inside `fraction` of the bubble's radius: 255 is untouched paper."""
    cx, cy, radius = bubble["x"] * scale, bubble["y"] * scale, bubble["r"] * scale * fraction
    x0, y0 = int(cx - radius) - 1, int(cy - radius) - 1
    window = image[y0:int(cy + radius) + 2, x0:int(cx + radius) + 2]
    ys, xs = np.mgrid[0:window.shape[0], 0:window.shape[1]]
    inside = (xs + x0 - cx) ** 2 + (ys + y0 - cy) ** 2 <= radius ** 2
    return float(window[inside].mean())


@pytest.mark.parametrize(("dpi", "size"), [(150, (1754, 1240)), (300, (3508, 2480))])
def test_render_page_is_a4_grayscale_at_the_requested_dpi(pdf, dpi, size):
    image, scale = render_page(pdf, dpi)

    assert image.dtype == np.uint8 and image.ndim == 2
    assert scale == pytest.approx(dpi / 72)
    assert abs(image.shape[0] - size[0]) <= 1 and abs(image.shape[1] - size[1]) <= 1
    # The top-left marker is solid black where the layout says, the page around it white.
    assert image[round(36 * scale), round(36 * scale)] < 40
    assert image[round(70 * scale), round(70 * scale)] > 240


def test_fill_bubbles_darkens_exactly_the_marked_bubbles(pdf, layout):
    image, scale = render_page(pdf, 150)
    marks = {
        "answers": {1: 3, "2": [1, 5], 3: {"choice": 2, "style": "pen"}, 4: {"choice": 4, "style": "light"},
                    5: [{"choice": 1, "style": "erased"}, {"choice": 2}]},
        "identifier": "0123 567",
    }

    filled = fill_bubbles(image, layout, 150, marks, seed=7)

    level = {(q["number"], c["choice"]): mean_inside(filled, c, scale) for q in layout["questions"][:6]
             for c in q["choices"]}
    blank = level[(6, 1)]
    assert blank > 200
    assert level[(3, 2)] < 60  # pen
    assert level[(1, 3)] < 160 and level[(2, 1)] < 160 and level[(2, 5)] < 160 and level[(5, 2)] < 160  # pencil
    assert 160 < level[(4, 4)] < 215  # light pencil: between a pencil mark and paper
    assert 205 < level[(5, 1)] < blank  # an erased mark leaves a trace
    untouched = [key for key in level if key not in {(1, 3), (2, 1), (2, 5), (3, 2), (4, 4), (5, 1), (5, 2)}]
    assert all(level[key] > 200 for key in untouched)
    columns = layout["identifier"]
    assert [mean_inside(filled, columns[c][d], scale) < 160 for c, d in [(0, 0), (1, 1), (2, 2), (3, 3)]] == [True] * 4
    assert all(mean_inside(filled, cell, scale) > 200 for cell in columns[4])  # the blank column
    assert mean_inside(filled, columns[7][7], scale) < 160
    # The input image is left as it was, and the same seed draws the same marks.
    assert mean_inside(image, layout["questions"][0]["choices"][2], scale) > 200
    assert np.array_equal(filled, fill_bubbles(image, layout, 150, marks, seed=7))


@pytest.mark.parametrize("marks", [{"answers": {21: 1}}, {"answers": {1: 6}}, {"identifier": "123456789"},
                                   {"answers": {1: {"choice": 1, "style": "crayon"}}}])
def test_fill_bubbles_refuses_marks_the_sheet_has_no_bubble_for(pdf, layout, marks):
    image, _ = render_page(pdf, 72)

    with pytest.raises(ValueError):
        fill_bubbles(image, layout, 72, marks)


def marker_centre(image, x0, y0, x1, y1):
    """The centroid of the dark pixels in a window: where a marker landed."""
    window = image[y0:y1, x0:x1] < 80
    ys, xs = np.nonzero(window)
    return x0 + xs.mean(), y0 + ys.mean()


def test_photograph_with_nothing_asked_is_the_image(pdf):
    image, _ = render_page(pdf, 72)

    assert np.array_equal(photograph(image), image)


def test_photograph_rotates_pads_and_shades_deterministically(pdf, layout):
    image, scale = render_page(pdf, 100)
    height, width = image.shape
    pad = 0.05 * min(height, width)

    photo = photograph(image, rotate=3, margin=0.05, background=60, shadow=0.5, seed=3)

    assert photo.shape == (round(height + 2 * pad), round(width + 2 * pad))
    assert np.array_equal(photo, photograph(image, rotate=3, margin=0.05, background=60, shadow=0.5, seed=3))
    assert photo[2, 2] < 70  # the desk shows around the page
    # The top-left marker turned 3 degrees about the page centre (image y down: positive angles turn clockwise).
    mx, my = layout["markers"][0]["x"] * scale - width / 2, layout["markers"][0]["y"] * scale - height / 2
    theta = math.radians(3)
    expected = (mx * math.cos(theta) - my * math.sin(theta) + width / 2 + pad,
                mx * math.sin(theta) + my * math.cos(theta) + height / 2 + pad)
    found = marker_centre(photograph(image, rotate=3, margin=0.05, seed=3), round(expected[0]) - 40,
                          round(expected[1]) - 40, round(expected[0]) + 40, round(expected[1]) + 40)
    assert found == pytest.approx(expected, abs=1.5)
    # The shadow: paper is lighter on one side of the page than on the other.
    paper = photo[photo > 100]
    assert paper.max() - np.percentile(paper, 5) > 60


def test_encode_image_round_trips(pdf):
    image, _ = render_page(pdf, 50)

    png = cv2.imdecode(np.frombuffer(encode_image(image), np.uint8), cv2.IMREAD_GRAYSCALE)
    jpeg = cv2.imdecode(np.frombuffer(encode_image(image, fmt="jpeg", quality=90), np.uint8), cv2.IMREAD_GRAYSCALE)

    assert np.array_equal(png, image)
    assert jpeg.shape == image.shape and np.abs(jpeg.astype(int) - image).mean() < 4


def test_render_pages_walks_a_multi_page_pdf_in_order(pdf):
    merged = pdfium.PdfDocument.new()
    for source in (pdf, sheet_pdf(sheet_layout(3, 4), "둘째 장"), pdf):
        merged.import_pages(pdfium.PdfDocument(source))
    buffer = io.BytesIO()
    merged.save(buffer)

    pages = list(render_pages(buffer.getvalue(), 72))

    assert [index for index, _, _ in pages] == [0, 1, 2]
    assert all(image.shape == render_page(pdf, 72)[0].shape and scale == 1.0 for _, image, scale in pages)
    assert np.array_equal(pages[0][1], pages[2][1]) and not np.array_equal(pages[0][1], pages[1][1])
