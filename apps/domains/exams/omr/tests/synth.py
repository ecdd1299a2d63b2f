"""Synthetic OMR sheets for the grader's tests: a layout-shaped dict, a drawn sheet, pencil/pen/erased marks, and the
distortions of a scanner or a phone (rotation, perspective, shadow, noise, JPEG).

Test support only. Where the real sheet (``omr.layout`` / ``omr.render``) is available the tests use it; the drawing
here is kept so the grader can be exercised on a sheet whose printed details differ (numerals inside the bubbles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

A4 = (595.28, 841.89)


def make_layout(question_count: int = 20, choice_count: int = 5, id_digits: int = 8) -> dict:
    """A layout dict of the shape ``omr.layout.sheet_layout`` returns (points from the top-left)."""
    width, height = A4
    size, margin = 22.0, 24.0
    near, far_x, far_y = margin + size / 2, width - margin - size / 2, height - margin - size / 2
    markers = [{"x": x, "y": y, "size": size} for x, y in ((near, near), (far_x, near), (far_x, far_y), (near, far_y))]
    r = 5.5
    identifier = []
    for col in range(id_digits):
        x = 80 + col * 16
        identifier.append([{"digit": d, "x": x, "y": 120 + d * 15, "r": r} for d in range(10)])
    questions = []
    per_col = 25
    for n in range(1, question_count + 1):
        col, row = divmod(n - 1, per_col)
        x0 = 90 + col * 122
        y = 300 + row * 18
        questions.append({"number": n, "choices": [{"choice": c, "x": x0 + (c - 1) * 18, "y": y, "r": r}
                                                    for c in range(1, choice_count + 1)]})
    return {"page": {"width": width, "height": height}, "markers": markers, "identifier": identifier,
            "questions": questions}


def draw_sheet(layout: dict, dpi: float = 200, numerals: bool = True) -> np.ndarray:
    """The printed sheet as a grey image: markers, rings, light numerals inside the bubbles, some text-like bars."""
    k = dpi / 72.0
    w, h = round(layout["page"]["width"] * k), round(layout["page"]["height"] * k)
    img = np.full((h, w), 250, np.uint8)
    for m in layout["markers"]:
        x0, y0 = round((m["x"] - m["size"] / 2) * k), round((m["y"] - m["size"] / 2) * k)
        s = round(m["size"] * k)
        img[y0 : y0 + s, x0 : x0 + s] = 15
    # a title and a few text-like lines
    cv2.putText(img, "MIDTERM OMR 2026", (round(150 * k), round(60 * k)), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * k / 2.8,
                30, max(1, round(k)), cv2.LINE_AA)
    for col in layout["identifier"]:
        for d in col:
            _bubble(img, d["x"], d["y"], d["r"], str(d["digit"]), k, numerals)
    for q in layout["questions"]:
        c0 = q["choices"][0]
        cv2.putText(img, str(q["number"]), (round((c0["x"] - 26) * k), round((c0["y"] + 3) * k)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.3 * k, 40, max(1, round(k * 0.6)), cv2.LINE_AA)
        for c in q["choices"]:
            _bubble(img, c["x"], c["y"], c["r"], str(c["choice"]), k, numerals)
    return img


def _bubble(img, x, y, r, label, k, numerals):
    centre = (round(x * k), round(y * k))
    cv2.ellipse(img, centre, (round(r * k), round(r * k * 1.0)), 0, 0, 360, 90, max(1, round(0.7 * k)), cv2.LINE_AA)
    if numerals:
        scale = 0.22 * k
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.putText(img, label, (centre[0] - tw // 2, centre[1] + th // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, 170,
                    max(1, round(0.35 * k)), cv2.LINE_AA)


# Mark styles: (grey level of the stroke, fraction of the bubble covered)
STYLES = {
    "pen": (35, 0.95),
    "pencil": (105, 0.9),
    "light": (165, 0.85),
    "erased": (222, 0.8),
}


@dataclass
class Mark:
    x: float  # pt
    y: float
    r: float
    style: str = "pencil"


def fill(img: np.ndarray, marks: list[Mark], dpi: float, rng: np.random.Generator) -> np.ndarray:
    """Pencil/pen-like fills: an irregular blob of strokes with grain, slightly off centre."""
    k = dpi / 72.0
    out = img.copy()
    for m in marks:
        level, cover = STYLES[m.style]
        layer = np.zeros_like(out, dtype=np.uint8)
        cx = (m.x + rng.uniform(-0.6, 0.6)) * k
        cy = (m.y + rng.uniform(-0.6, 0.6)) * k
        rr = m.r * k * cover
        # A few overlapping strokes rather than a perfect disc.
        for _ in range(6):
            ox, oy = rng.uniform(-0.25, 0.25, 2) * rr
            axes = (max(1, round(rr * rng.uniform(0.6, 0.85))), max(1, round(rr * rng.uniform(0.6, 0.85))))
            cv2.ellipse(layer, (round(cx + ox), round(cy + oy)), axes, rng.uniform(0, 180), 0, 360, 255, -1)
        cv2.circle(layer, (round(cx), round(cy)), max(1, round(rr * 0.8)), 255, -1)
        alpha = layer.astype(np.float32) / 255.0
        grain = rng.normal(0, 12 if m.style != "pen" else 4, out.shape).astype(np.float32)
        ink = np.clip(level + grain, 0, 255)
        base = out.astype(np.float32)
        # Ink darkens (multiply), never brightens the paper.
        mixed = np.minimum(base, base * (1 - alpha) + ink * alpha)
        out = mixed.astype(np.uint8)
    return out


def bubble_of(layout: dict, question: int, choice: int) -> tuple[float, float, float]:
    for q in layout["questions"]:
        if q["number"] == question:
            for c in q["choices"]:
                if c["choice"] == choice:
                    return c["x"], c["y"], c["r"]
    raise KeyError((question, choice))


def digit_of(layout: dict, column: int, digit: int) -> tuple[float, float, float]:
    d = layout["identifier"][column][digit]
    assert d["digit"] == digit
    return d["x"], d["y"], d["r"]


def marks_for(layout: dict, answers: dict[int, list[int]], identifier: str | None, style="pencil",
              styles: dict | None = None) -> list[Mark]:
    """Marks for answers {question: [choices]} and an identifier (a '?' digit is left blank)."""
    out = []
    for q, choices in answers.items():
        for c in choices:
            out.append(Mark(*bubble_of(layout, q, c), style=(styles or {}).get((q, c), style)))
    if identifier:
        for col, ch in enumerate(identifier):
            if ch.isdigit():
                out.append(Mark(*digit_of(layout, col, int(ch)), style=style))
    return out


# --- distortions --------------------------------------------------------------------------------------------------


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=245)


def phone_photo(img: np.ndarray, rng: np.random.Generator, *, jitter: float = 0.06, shadow: float = 0.45,
                out_long: int = 2000, jpeg_quality: int = 70, colour: bool = True) -> np.ndarray:
    """The sheet on a darker table, seen in perspective, with a shadow gradient, sensor noise, blur and JPEG."""
    h, w = img.shape[:2]
    out_h = out_long
    out_w = round(out_long * 0.75)
    scale = 0.8 * min(out_w / w, out_h / h)
    cx, cy = out_w / 2, out_h / 2
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[cx - w * scale / 2, cy - h * scale / 2], [cx + w * scale / 2, cy - h * scale / 2],
                      [cx + w * scale / 2, cy + h * scale / 2], [cx - w * scale / 2, cy + h * scale / 2]])
    dst += rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * np.float32([out_w, out_h])
    m = cv2.getPerspectiveTransform(src, dst)
    table = np.full((out_h, out_w), 90, np.uint8)
    warped = cv2.warpPerspective(img, m, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=0)
    mask = cv2.warpPerspective(np.full_like(img, 255), m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0)
    photo = np.where(mask > 127, warped, table).astype(np.float32)
    # Shadow: a smooth gradient at a random angle, darkest at `1 - shadow`.
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    t = (xx * math.cos(angle) + yy * math.sin(angle))
    t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    photo *= 1.0 - shadow * t
    photo += rng.normal(0, 3.0, photo.shape).astype(np.float32)
    photo = cv2.GaussianBlur(np.clip(photo, 0, 255).astype(np.uint8), (3, 3), 0.8)
    if colour:
        photo = cv2.merge([photo, np.clip(photo.astype(np.int16) + 4, 0, 255).astype(np.uint8), photo])
    ok, buf = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def jpeg(img: np.ndarray, quality: int = 80) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


def bulge(img: np.ndarray, amplitude_px: float, *, axis: int = 1) -> np.ndarray:
    """A curled page: the middle pushed sideways by up to ``amplitude_px`` while the edges (and markers) stay put."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shift = amplitude_px * np.sin(np.pi * xx / w) * np.sin(np.pi * yy / h)
    map_x, map_y = (xx + shift, yy) if axis == 1 else (xx, yy + shift)
    return cv2.remap(img, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderValue=245)
