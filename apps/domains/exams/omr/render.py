"""Sheet images for tests, samples and the benchmark (ARCHITECTURE §4 AI, exams): render a PDF page, fill bubbles.

No Django import. `render_page` rasterises a PDF page with pypdfium2 (Apache-2.0/BSD, no GPL) to a grayscale uint8
array; `fill_bubbles` draws marks the way people make them, from a dark pen to a light or erased pencil, at the
layout's bubble centres, so a grader can be tested on sheets made from the very PDF students get.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pypdfium2 as pdfium

POINTS_PER_INCH = 72.0

# Per style: (ink grey level, fraction of the radius covered, texture noise, stroke gaps).
STYLES = {
    "pen": (28, 0.95, 6, False),
    "pencil": (95, 0.9, 22, True),
    "light": (175, 0.75, 18, True),
    "erased": (222, 0.85, 10, True),
}


def _to_gray(page, scale: float) -> np.ndarray:
    bitmap = page.render(scale=scale, grayscale=True)
    image = np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True)
    if image.ndim == 3:
        # Grayscale bitmaps come back with a single channel axis on some versions; BGR(A) if a renderer ignores gray.
        image = image[:, :, 0] if image.shape[2] == 1 else cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(image)


def render_page(pdf_bytes: bytes, dpi: float = 300, page_index: int = 0) -> tuple[np.ndarray, float]:
    """The page as a grayscale uint8 array (rows = y from the top) and the scale from PDF points to pixels."""
    scale = dpi / POINTS_PER_INCH
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        page = document[page_index]
        try:
            return _to_gray(page, scale), scale
        finally:
            page.close()
    finally:
        document.close()


def render_pages(pdf_bytes: bytes, dpi: float = 300):
    """Each page in turn as (page_index, grayscale array, scale): one page in memory at a time."""
    scale = dpi / POINTS_PER_INCH
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                image = _to_gray(page, scale)
            finally:
                page.close()
            yield index, image, scale
    finally:
        document.close()


def _normalise(value) -> list[dict]:
    """A mark spec → a list of {choice, style?, ...}: an int, a list of ints, a dict, or a list of dicts."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item if isinstance(item, dict) else {"choice": item} for item in value if item is not None]
    return [{"choice": value}]


def _draw_mark(image: np.ndarray, cx: float, cy: float, radius: float, *, style: str, coverage: float | None,
               rng: np.random.Generator) -> None:
    ink, default_coverage, noise, strokes = STYLES[style]
    coverage = default_coverage if coverage is None else coverage
    # People miss the centre a little: up to 12% of the radius, in any direction.
    angle = rng.uniform(0, 2 * math.pi)
    offset = rng.uniform(0, 0.12) * radius
    mx, my = cx + offset * math.cos(angle), cy + offset * math.sin(angle)
    mark_radius = max(1.0, coverage * radius)

    pad = math.ceil(mark_radius) + 2
    x0, y0 = max(0, int(mx) - pad), max(0, int(my) - pad)
    x1, y1 = min(image.shape[1], int(mx) + pad + 1), min(image.shape[0], int(my) + pad + 1)
    if x1 <= x0 or y1 <= y0:
        return
    height, width = y1 - y0, x1 - x0
    shape = np.zeros((height, width), dtype=np.uint8)
    centre = (round((mx - x0) * 16), round((my - y0) * 16))
    cv2.circle(shape, centre, round(mark_radius * 16), 255, -1, lineType=cv2.LINE_AA, shift=4)
    if strokes:
        # A pencil fills a bubble with back-and-forth strokes: thin slanted gaps where the paper shows through.
        gaps = np.full((height, width), 255, dtype=np.uint8)
        step = max(3.0, radius * 0.45)
        tilt = rng.uniform(-0.5, 0.5)
        position = -float(height)
        while position < 2 * height:
            start = (0, int(position))
            end = (width, int(position + tilt * width))
            cv2.line(gaps, start, end, 0, thickness=1, lineType=cv2.LINE_AA)
            position += step + rng.uniform(-0.6, 0.6)
        shape = (shape.astype(np.float32) * (0.55 + 0.45 * gaps.astype(np.float32) / 255.0)).astype(np.uint8)
    alpha = shape.astype(np.float32) / 255.0
    level = ink + rng.normal(0, noise, size=(height, width))
    region = image[y0:y1, x0:x1].astype(np.float32)
    marked = region * (1 - alpha) + np.clip(level, 0, 255) * alpha
    # Ink darkens, never lightens: the printed ring stays where the mark is lighter than it.
    image[y0:y1, x0:x1] = np.minimum(region, marked).astype(np.uint8)


def fill_bubbles(image: np.ndarray, layout: dict, dpi: float, marks: dict, *, style: str = "pencil",
                 seed: int = 0) -> np.ndarray:
    """A copy of `image` (rendered from the layout's sheet at `dpi`) with marks drawn in.

    `marks = {"answers": {question_number: spec}, "identifier": digits}` where a spec is a choice (int), a list of
    choices, a dict `{"choice", "style"?, "coverage"?}` or a list of them; `digits` is a string such as "01234567" (a
    space leaves that column blank) or a list with, per column, a digit, None (blank), a list of digits, or dicts
    `{"choice": digit, ...}`. Styles: "pen" (dark, solid), "pencil" (grey, textured), "light" (faint pencil),
    "erased" (what a rubber leaves behind). `coverage` is the filled fraction of the radius. Question numbers may be
    ints or strings (a JSON round trip). Same seed, same image.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}")
    scale = dpi / POINTS_PER_INCH
    out = np.array(image, dtype=np.uint8, copy=True)
    rng = np.random.default_rng(seed)

    def draw(cells: list[dict], key: str, spec) -> None:
        by_value = {cell[key]: cell for cell in cells}
        for mark in _normalise(spec):
            cell = by_value.get(int(mark["choice"]))
            if cell is None:
                raise ValueError(f"no bubble {mark['choice']!r}")
            mark_style = mark.get("style", style)
            if mark_style not in STYLES:
                raise ValueError(f"unknown style {mark_style!r}")
            _draw_mark(out, cell["x"] * scale, cell["y"] * scale, cell["r"] * scale, style=mark_style,
                       coverage=mark.get("coverage"), rng=rng)

    questions = {question["number"]: question for question in layout["questions"]}
    for number, spec in (marks.get("answers") or {}).items():
        question = questions.get(int(number))
        if question is None:
            raise ValueError(f"no question {number!r}")
        draw(question["choices"], "choice", spec)

    digits = marks.get("identifier")
    if digits is not None:
        if isinstance(digits, str):
            digits = [None if char == " " else int(char) for char in digits]
        if len(digits) > len(layout["identifier"]):
            raise ValueError("more identifier digits than columns")
        for column, spec in zip(layout["identifier"], digits, strict=False):
            draw(column, "digit", spec)
    return out


def photograph(image: np.ndarray, *, rotate: float = 0.0, perspective: float = 0.0, shadow: float = 0.0,
               blur: float = 0.0, noise: float = 0.0, margin: float = 0.0, background: int = 255,
               seed: int = 0) -> np.ndarray:
    """`image` as a scanner or a phone would see it: rotated by `rotate` degrees, each page corner moved by up to
    `perspective` × the page's shorter side, on a `background` grey with `margin` × the shorter side around it, a
    shadow darkening one side by up to `shadow` (0–1), a Gaussian blur of `blur` pixels and sensor noise of
    standard deviation `noise`. Deterministic for a seed; all zeros leave the image as it is."""
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    side = min(height, width)
    pad = margin * side
    out_w, out_h = round(width + 2 * pad), round(height + 2 * pad)
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    centre = np.float32([width / 2, height / 2])
    theta = math.radians(rotate)
    rotation = np.float32([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    moved = (corners - centre) @ rotation.T + centre + np.float32([pad, pad])
    moved += rng.uniform(-perspective * side, perspective * side, size=(4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    out = cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=int(background)).astype(np.float32)
    if shadow:
        # Light falling from one side: a linear ramp in a random direction, from full light to 1 - shadow.
        direction = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
        ramp = xs * math.cos(direction) + ys * math.sin(direction)
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
        out *= 1.0 - shadow * ramp
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise:
        out += rng.normal(0, noise, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def encode_image(image: np.ndarray, *, fmt: str = "png", quality: int = 90) -> bytes:
    """PNG or JPEG bytes of a grayscale image, as a scanner or a phone would upload it."""
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unknown format {fmt!r}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if fmt == "jpeg" else []
    ok, data = cv2.imencode(".png" if fmt == "png" else ".jpg", image, params)
    if not ok:
        raise ValueError("could not encode the image")
    return data.tobytes()
