"""The OMR answer sheet's geometry (ARCHITECTURE §4 AI, exams): one pure function for the PDF, grader and tests.

No Django import. Every number is in PDF points (1/72 inch) on an A4 page, measured from the page's TOP-LEFT corner,
x to the right and y downwards (image convention, so a renderer's pixel = point × dpi / 72).

Conventions, the same for every graded shape:
- a marker `{x, y, size}`: (x, y) is the CENTRE of a solid black square whose side is `size`;
- a bubble `{x, y, r}`: (x, y) is the CENTRE of a circle of radius `r` (the printed ring's centre line);
- decoration rectangles (`identifier_box`, `name_box`, `write_in`) are `{left, top, width, height}`: never graded.

Design for a robust grader: four big markers (24 pt) 24 pt in from each edge, a quiet zone of at least 24 pt around
them where nothing is printed, bubbles of radius 5.5 pt on a 16 pt grid (5 pt gaps) vertically and 17 pt (6 pt gaps)
horizontally, questions in fixed places (question n is always in the same spot whatever the question count), groups of
five rows separated by an extra gap. The geometry depends only on the arguments: same input, same output.
"""

from __future__ import annotations

LAYOUT_VERSION = 1

PAGE_WIDTH = 595.28
PAGE_HEIGHT = 841.89

MARKER_SIZE = 24.0
MARKER_INSET = 24.0  # from the page edge to the marker's outer edge: inside any printer's unprintable margin
MARKER_QUIET_ZONE = 24.0  # nothing printed this close to a marker's edge

BUBBLE_RADIUS = 5.5
ROW_PITCH = 16.0
CHOICE_PITCH = 17.0
GROUP_SIZE = 5
GROUP_GAP = 8.0

CONTENT_LEFT = 40.0
CONTENT_TOP = MARKER_INSET + MARKER_SIZE + MARKER_QUIET_ZONE  # 72
CONTENT_BOTTOM = PAGE_HEIGHT - CONTENT_TOP

TITLE_BASELINE = 92.0
TITLE_SIZE = 16.0
SUBTITLE_BASELINE = 108.0
SUBTITLE_SIZE = 9.0

ID_LABEL_BASELINE = 128.0
ID_FIRST_X = 58.0
ID_COLUMN_PITCH = 16.0
ID_WRITE_IN_TOP = 134.0
ID_WRITE_IN_HEIGHT = 16.0
ID_FIRST_ROW_Y = 160.0

QUESTION_FIRST_ROW_Y = 336.0
QUESTION_ROWS_PER_COLUMN = 25
QUESTION_COLUMNS = 4
QUESTION_COLUMN_LEFT = 40.0
QUESTION_COLUMN_PITCH = 129.0
QUESTION_FIRST_CHOICE_DX = 36.0  # from the column's left edge; the number label sits right-aligned before it

MAX_QUESTIONS = QUESTION_ROWS_PER_COLUMN * QUESTION_COLUMNS  # 100
CHOICE_COUNTS = (4, 5)
MAX_ID_DIGITS = 10


def _round(value: float) -> float:
    return round(value, 2)


def _row_y(first_y: float, row: int) -> float:
    return first_y + row * ROW_PITCH + (row // GROUP_SIZE) * GROUP_GAP


def sheet_layout(question_count: int, choice_count: int, id_digits: int = 8) -> dict:
    """The sheet for `question_count` questions (1–100) of `choice_count` choices (4 or 5) and an identifier of
    `id_digits` columns (1–10) of digits 0–9. See the module docstring for the coordinate conventions."""
    if type(question_count) is not int or not 1 <= question_count <= MAX_QUESTIONS:
        raise ValueError(f"question_count must be 1..{MAX_QUESTIONS}")
    if isinstance(choice_count, bool) or choice_count not in CHOICE_COUNTS:
        raise ValueError(f"choice_count must be one of {CHOICE_COUNTS}")
    if type(id_digits) is not int or not 1 <= id_digits <= MAX_ID_DIGITS:
        raise ValueError(f"id_digits must be 1..{MAX_ID_DIGITS}")

    near, far_x, far_y = MARKER_INSET + MARKER_SIZE / 2, PAGE_WIDTH - MARKER_INSET - MARKER_SIZE / 2, \
        PAGE_HEIGHT - MARKER_INSET - MARKER_SIZE / 2
    # Order: top-left, top-right, bottom-right, bottom-left (clockwise, as a perspective warp wants its corners).
    markers = [{"x": _round(x), "y": _round(y), "size": MARKER_SIZE}
               for x, y in ((near, near), (far_x, near), (far_x, far_y), (near, far_y))]

    identifier = [
        [{"digit": digit, "x": _round(ID_FIRST_X + column * ID_COLUMN_PITCH),
          "y": _round(ID_FIRST_ROW_Y + digit * ROW_PITCH), "r": BUBBLE_RADIUS} for digit in range(10)]
        for column in range(id_digits)
    ]
    id_left = ID_FIRST_X - ID_COLUMN_PITCH / 2 - 6
    id_right = ID_FIRST_X + (id_digits - 1) * ID_COLUMN_PITCH + ID_COLUMN_PITCH / 2 + 6
    id_bottom = ID_FIRST_ROW_Y + 9 * ROW_PITCH + BUBBLE_RADIUS + 6
    identifier_box = {"left": _round(id_left), "top": ID_LABEL_BASELINE - 14,
                      "width": _round(id_right - id_left), "height": _round(id_bottom - (ID_LABEL_BASELINE - 14))}
    write_in = [{"left": _round(ID_FIRST_X + c * ID_COLUMN_PITCH - 7), "top": ID_WRITE_IN_TOP, "width": 14.0,
                 "height": ID_WRITE_IN_HEIGHT} for c in range(id_digits)]
    name_left = id_right + 24
    name_box = {"left": _round(name_left), "top": ID_LABEL_BASELINE - 14,
                "width": _round(PAGE_WIDTH - CONTENT_LEFT - name_left), "height": 40.0}

    questions = []
    for index in range(question_count):
        column, row = divmod(index, QUESTION_ROWS_PER_COLUMN)
        first_x = QUESTION_COLUMN_LEFT + column * QUESTION_COLUMN_PITCH + QUESTION_FIRST_CHOICE_DX
        y = _round(_row_y(QUESTION_FIRST_ROW_Y, row))
        questions.append({
            "number": index + 1,
            "choices": [{"choice": choice, "x": _round(first_x + (choice - 1) * CHOICE_PITCH), "y": y,
                         "r": BUBBLE_RADIUS} for choice in range(1, choice_count + 1)],
        })

    return {
        "layout_version": LAYOUT_VERSION,
        "question_count": question_count,
        "choice_count": choice_count,
        "id_digits": id_digits,
        "page": {"width": PAGE_WIDTH, "height": PAGE_HEIGHT},
        "markers": markers,
        "title": {"left": CONTENT_LEFT, "baseline": TITLE_BASELINE, "size": TITLE_SIZE},
        "subtitle": {"left": CONTENT_LEFT, "baseline": SUBTITLE_BASELINE, "size": SUBTITLE_SIZE},
        "identifier_label": {"left": _round(id_left + 6), "baseline": ID_LABEL_BASELINE},
        "identifier_box": identifier_box,
        "write_in": write_in,
        "name_box": name_box,
        "identifier": identifier,
        "questions": questions,
    }
