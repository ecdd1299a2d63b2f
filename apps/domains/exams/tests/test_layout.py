"""The sheet's geometry: everything on the page, nothing overlapping, markers alone in their corners."""

import itertools
import json

import pytest

from apps.domains.exams.omr.layout import (
    BUBBLE_RADIUS,
    LAYOUT_VERSION,
    MARKER_QUIET_ZONE,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    sheet_layout,
)

SIZES = [(1, 4), (1, 5), (20, 4), (25, 5), (26, 4), (50, 5), (99, 4), (100, 4), (100, 5)]


def bubbles(layout):
    for column in layout["identifier"]:
        yield from column
    for question in layout["questions"]:
        yield from question["choices"]


def boxes(layout):
    """Every printed thing as (left, top, right, bottom), markers excluded."""
    for bubble in bubbles(layout):
        yield bubble["x"] - bubble["r"], bubble["y"] - bubble["r"], bubble["x"] + bubble["r"], bubble["y"] + bubble["r"]
    for rect in [layout["identifier_box"], layout["name_box"], *layout["write_in"]]:
        yield rect["left"], rect["top"], rect["left"] + rect["width"], rect["top"] + rect["height"]
    # Title text: from its left edge, one font size above the baseline, to the page's content width.
    for text in (layout["title"], layout["subtitle"]):
        yield text["left"], text["baseline"] - text["size"], PAGE_WIDTH - text["left"], text["baseline"] + 3


@pytest.mark.parametrize(("question_count", "choice_count"), SIZES)
def test_shape_counts_and_numbering(question_count, choice_count):
    layout = sheet_layout(question_count, choice_count)

    assert layout["layout_version"] == LAYOUT_VERSION
    assert layout["page"] == {"width": 595.28, "height": 841.89}
    assert [q["number"] for q in layout["questions"]] == list(range(1, question_count + 1))
    assert all([c["choice"] for c in q["choices"]] == list(range(1, choice_count + 1)) for q in layout["questions"])
    assert len(layout["identifier"]) == 8
    assert all([cell["digit"] for cell in column] == list(range(10)) for column in layout["identifier"])
    assert all(bubble["r"] == BUBBLE_RADIUS for bubble in bubbles(layout))


@pytest.mark.parametrize(("question_count", "choice_count"), SIZES)
def test_bubbles_inside_page_and_apart(question_count, choice_count):
    layout = sheet_layout(question_count, choice_count)
    all_bubbles = list(bubbles(layout))

    for bubble in all_bubbles:
        assert bubble["r"] <= bubble["x"] <= PAGE_WIDTH - bubble["r"]
        assert bubble["r"] <= bubble["y"] <= PAGE_HEIGHT - bubble["r"]
    # At least 4 pt of paper between any two rings.
    for a, b in itertools.combinations(all_bubbles, 2):
        gap = ((a["x"] - b["x"]) ** 2 + (a["y"] - b["y"]) ** 2) ** 0.5 - a["r"] - b["r"]
        assert gap >= 4.0, (a, b)


@pytest.mark.parametrize(("question_count", "choice_count"), [(1, 4), (50, 5), (100, 5)])
def test_markers_in_corners_and_clear_of_content(question_count, choice_count):
    layout = sheet_layout(question_count, choice_count)
    markers = layout["markers"]

    assert len(markers) == 4
    assert all(marker["size"] >= 20 for marker in markers)
    # Clockwise from the top-left, each within 60 pt of its corner and fully on the page.
    corners = [(0, 0), (PAGE_WIDTH, 0), (PAGE_WIDTH, PAGE_HEIGHT), (0, PAGE_HEIGHT)]
    for marker, (cx, cy) in zip(markers, corners, strict=True):
        half = marker["size"] / 2
        assert abs(marker["x"] - cx) <= 60 and abs(marker["y"] - cy) <= 60
        assert half <= marker["x"] <= PAGE_WIDTH - half and half <= marker["y"] <= PAGE_HEIGHT - half
    for marker in markers:
        half = marker["size"] / 2
        for left, top, right, bottom in boxes(layout):
            dx = max(left - (marker["x"] + half), (marker["x"] - half) - right, 0)
            dy = max(top - (marker["y"] + half), (marker["y"] - half) - bottom, 0)
            assert max(dx, dy) >= MARKER_QUIET_ZONE, (marker, (left, top, right, bottom))


def test_identifier_sits_top_left_under_the_title_and_above_the_questions():
    layout = sheet_layout(100, 5)
    id_cells = [cell for column in layout["identifier"] for cell in column]
    question_cells = [choice for q in layout["questions"] for choice in q["choices"]]

    assert min(cell["y"] for cell in id_cells) > layout["title"]["baseline"]
    assert max(cell["x"] for cell in id_cells) < PAGE_WIDTH / 2
    assert max(cell["y"] + cell["r"] for cell in id_cells) < min(c["y"] - c["r"] for c in question_cells)


def test_question_positions_do_not_depend_on_the_count():
    small, large = sheet_layout(30, 5), sheet_layout(100, 5)

    assert large["questions"][:30] == small["questions"]
    assert sheet_layout(30, 4)["questions"][7]["choices"] == small["questions"][7]["choices"][:4]


def test_deterministic_and_json_safe():
    layout = sheet_layout(37, 5, id_digits=8)

    assert json.loads(json.dumps(layout)) == layout == sheet_layout(37, 5, id_digits=8)


@pytest.mark.parametrize(("args", "message"), [
    ((0, 5), "question_count"), ((101, 5), "question_count"), ((10, 3), "choice_count"), ((10, 6), "choice_count"),
    ((10, 5, 0), "id_digits"), ((10, 5, 11), "id_digits"), ((True, 5), "question_count"),
])
def test_refuses_out_of_range(args, message):
    with pytest.raises(ValueError, match=message):
        sheet_layout(*args)
