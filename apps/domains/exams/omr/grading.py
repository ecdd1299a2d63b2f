"""OMR grading core (ARCHITECTURE §3 Exams and OMR): markers → warp → fill per bubble → one/blank/multiple/uncertain.

Pure: numpy and OpenCV only, no Django import, no settings read. The caller passes a decoded page (grayscale or BGR,
any resolution) and the sheet's layout (``layout.sheet_layout``: PDF points from the top-left corner of the page) and
gets a ``PageReading``. Who the student is and what the score is are decided in ``scoring.py``.

How a page is read, and why:
- Markers: the page is divided by its own background (a grey closing), so shadows and uneven light do not matter;
  solid square blobs are candidates, and the four whose positions *and* sizes agree with one homography of the layout's
  markers win. No such four → UNREADABLE (a photo, a text page, a blank page).
- Alignment: the homography is refitted on the markers' sixteen corners (refined to sub-pixel on the full-resolution
  page) plus their centres; the residual in points is the alignment quality. A curled or badly printed page goes to
  REVIEW instead of being read at the wrong place.
- Fill: the page is warped to a fixed working resolution (``WORK_PX_PER_PT``), divided by its local background, and each
  bubble's darkness is the mean over a box inside the printed ring (an integral image: one vectorised lookup for all
  bubbles). Darkness is measured against the page's own empty bubbles (per printed symbol, since a printed "8" is
  darker than a "1"), and the mark threshold scales with the page's own typical mark (pencil is lighter than pen).
- Decision: the rules in ``_decide`` with the constants below; anything in the band between clearly empty and clearly
  marked, or a second mark neither clearly residue nor clearly a mark, is UNCERTAIN — never guessed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# --- working geometry -------------------------------------------------------------------------------------------------
# Pixels per PDF point after warping (2.0 ≈ 144 dpi): a 5 pt bubble radius is 10 px, enough to average pencil grain,
# and an A4 page is 1191 × 1684 px, cheap to warp and normalise (the 20 sheets/s budget).
WORK_PX_PER_PT = 2.0
# Before anything else a large picture is reduced to this many pixels per point of the page's long side (a page filling
# the frame then keeps 1.25 × the working resolution; a photo where the page fills 80 % of the frame keeps ~1×).
SOURCE_MAX_PX_PER_PT = 2.5
# Marker search runs on a copy whose long side is this many pixels (about 100 dpi for a page filling the frame).
DETECT_LONG_SIDE = 1200
# A pixel belongs to a marker candidate when it is darker than this fraction of its local background (markers are
# solid black: ~0.1–0.3 of the paper even under a shadow; pencil and grey print stay above).
MARKER_DARK_RATIO = 0.5
# A candidate blob must look like a filled quadrilateral: solid (area / convex hull), its hull simplified to four
# vertices whose polygon it fills (a square in any perspective ≈ 1; a filled disc against its inscribed square ≈ π/2,
# so pen-filled bubbles drop out), and not too elongated (longest / shortest side).
MARKER_MIN_SOLIDITY = 0.9
MARKER_QUAD_FILL = (0.85, 1.2)
MARKER_MAX_ASPECT = 2.0
# At most this many candidates (largest first) enter the four-of-n search (C(14, 4) = 1001 homographies).
MARKER_MAX_CANDIDATES = 14
# Each chosen marker's area must match the size its homography predicts within this factor.
MARKER_AREA_TOLERANCE = 1.8
# The four markers must span at least this fraction of the image (rejects four specks on a photo).
MARKER_MIN_QUAD_FRACTION = 0.12

# --- alignment --------------------------------------------------------------------------------------------------------
# RMS residual (points) of the 20-point marker fit at which alignment quality reaches 0; quality = 1 - rms / this.
ALIGN_RMS_ZERO_PT = 3.0
# Below this quality (RMS above 1.2 pt, a quarter of a bubble radius) the page goes to REVIEW.
ALIGN_MIN_QUALITY = 0.6

# The printed rings double as a local alignment check the markers cannot give (a curled or folded page): the ring's
# darkness in a box on its left (x - r) against one on its right (x + r), and above against below. Centred, the two
# match: (a - b) / (a + b) ≈ 0 (90th percentile 0.06 on rendered scans and photos); a bubble off by 0.2 r gives ~0.15,
# by 0.3 r ~0.4. A blank bubble above RING_MAX_ASYMMETRY is misaligned; more than RING_MAX_MISALIGNED_FRACTION of
# them → REVIEW.
RING_BAND = (0.8, 1.2)
RING_SIDE_BOX = (0.3, 0.5)  # half width across the ring, half length along it, in radii
RING_MAX_ASYMMETRY = 0.35
RING_MAX_MISALIGNED_FRACTION = 0.08
# Upside down when the rings, sampled at the page's 180° positions, are this many times darker than where they belong.
UPSIDE_DOWN_RING_RATIO = 2.0

# --- fill measurement -------------------------------------------------------------------------------------------------
# Half side of the sampling box as a fraction of the bubble radius: the box's corners stay at 0.85 r, inside the printed
# ring, and a 0.25 r misplacement still samples only the inside of the bubble.
SAMPLE_HALF_SIDE_OF_R = 0.6
# Background estimate: grey closing on a 1/4 copy with a kernel of this many points (wider than a bubble, a mark and
# a printed character, so all of them are removed and only the paper and its shadows remain).
BACKGROUND_KERNEL_PT = 18.0

# --- decision (darkness: 0 for paper, 1 for black ink; "contrast": darkness above the page's empty bubbles) -----------
# Contrast below which a bubble is empty, and at least this many robust noise sigmas of the page's empty bubbles.
EMPTY_MAX_CONTRAST = 0.08
EMPTY_NOISE_SIGMAS = 5.0
# A mark is at least this contrast (measured on rendered sheets: a full pencil fill ~0.5, a pen fill ~0.85, a light
# pencil fill ~0.23, an eraser's residue ~0.1; so the residue stays in the uncertain band, never a mark) …
MARK_MIN_CONTRAST = 0.18
# … and at least this fraction of the page's typical mark (the median darkest bubble among marked questions), so a
# smudge on a page filled in pen (0.35 × 0.85 ≈ 0.3) does not count as a mark.
MARK_REL_TO_PAGE = 0.35
# Without at least this many clear marks on the page, the typical mark is taken as NOMINAL_MARK_CONTRAST.
PAGE_MARK_MIN_SAMPLES = 3
NOMINAL_MARK_CONTRAST = 0.5
# Within one question, when the darkest bubble is a mark, the second darkest is:
# - a second mark (MULTIPLE) when it is itself a mark and either ≥ MULTI_REL of the darkest or ≥ CLEAR_MARK_REL_TO_PAGE
#   of the page's typical mark (a pencil mark beside a pen mark: 0.5 vs 0.85 is still two marks);
# - residue of an erasure or a smudge (ONE) when it is in the lower half of the faint band (below the midpoint of the
#   empty and mark thresholds: ~0.13 on a pencil page, where an eraser leaves ~0.1) and ≤ FAINT_RESIDUE_REL of the
#   darkest (an eraser's 0.1 beside a light 0.23 pencil mark);
# - anything else → UNCERTAIN, a teacher looks: a half-hearted second mark at 0.16 beside a 0.5 mark is a double mark
#   as often as it is a heavy residue.
MULTI_REL = 0.5
CLEAR_MARK_REL_TO_PAGE = 0.7
FAINT_RESIDUE_REL = 0.5
# The baseline of a printed symbol (choice "3", digit "8") is the 25th percentile of its bubbles, clamped to this
# distance from the page's overall median, so a student who answered "3" everywhere cannot make "3" look empty.
SYMBOL_BASELINE_MAX_SHIFT = 0.05
SYMBOL_BASELINE_MIN_SAMPLES = 5
# Noise of the empty bubbles above which the picture is too poor to trust (blur, heavy JPEG, glare): REVIEW.
MAX_EMPTY_NOISE = 0.04


# The reading's vocabulary lives in states.py (no OpenCV), so the API can name it without loading the grader.
from .states import (  # noqa: E402
    REASON_AMBIGUOUS_MARK,
    REASON_ID_DIGIT_BLANK,
    REASON_ID_DIGIT_MULTIPLE,
    REASON_ID_DIGIT_UNCERTAIN,
    REASON_LOW_ALIGNMENT,
    REASON_LOW_IMAGE_QUALITY,
    UNREADABLE_EMPTY_IMAGE,
    UNREADABLE_IMAGE_ERROR,
    UNREADABLE_NO_MARKERS,
    MarkState,
    PageStatus,
)


@dataclass(frozen=True)
class DigitReading:
    column: int  # 0-based identifier column, left to right
    value: int | None  # the digit when state is ONE
    state: MarkState
    fills: list[float]  # contrast per printed digit, in layout order


@dataclass(frozen=True)
class QuestionReading:
    number: int
    choices_marked: list[int]  # the marked choice (ONE) or the clear marks (MULTIPLE); empty otherwise
    state: MarkState
    fills: list[float]  # contrast per choice, in layout order


@dataclass
class PageReading:
    status: PageStatus
    reason: str = ""  # why UNREADABLE
    alignment_quality: float = 0.0  # 1 = markers fit exactly, 0 = residual ≥ ALIGN_RMS_ZERO_PT
    aligned: np.ndarray | None = None  # the page warped to the layout at WORK_PX_PER_PT (uint8 grey), for overlays
    identifier: list[DigitReading] = field(default_factory=list)
    answers: list[QuestionReading] = field(default_factory=list)
    review_reasons: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)  # thresholds this page was read with (for the review UI)

    @property
    def identifier_text(self) -> str | None:
        """The identifier when every digit is exactly one mark, else None (a blank digit is never read as 0)."""
        if not self.identifier or any(d.state != MarkState.ONE for d in self.identifier):
            return None
        return "".join(str(d.value) for d in self.identifier)


# ------------------------------------------------------------------------------------------------------------------


def grade_page(image: np.ndarray, layout: dict) -> PageReading:
    """Read one page. Never raises on a bad picture: a page that is not a sheet is UNREADABLE.

    A layout that is not a layout (no four markers) is the caller's bug and raises ValueError."""
    _marker_geometry(layout)
    try:
        return _grade_page(image, layout)
    except (cv2.error, np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError, OverflowError):
        # A degenerate picture OpenCV or the fit chokes on is unreadable, like any other non-sheet.
        return PageReading(status=PageStatus.UNREADABLE, reason=UNREADABLE_IMAGE_ERROR)


def _grade_page(image: np.ndarray, layout: dict) -> PageReading:
    gray = _to_gray(image)
    if gray is None or gray.shape[0] < 64 or gray.shape[1] < 64:
        return PageReading(status=PageStatus.UNREADABLE, reason=UNREADABLE_EMPTY_IMAGE)
    gray = _reduce(gray, layout)

    try:
        found = _find_markers(gray, layout)
    except _EmptyImage:
        return PageReading(status=PageStatus.UNREADABLE, reason=UNREADABLE_EMPTY_IMAGE)
    if found is None:
        return PageReading(status=PageStatus.UNREADABLE, reason=UNREADABLE_NO_MARKERS)
    homography, rms_pt = found
    quality = float(np.clip(1.0 - rms_pt / ALIGN_RMS_ZERO_PT, 0.0, 1.0))

    aligned = _warp(gray, homography, layout)
    sampler = _Sampler.of(aligned)
    table = _bubble_table(layout)
    rings, rings_turned = _ring_scores(sampler, table, layout)
    turned = float(np.median(rings_turned)) > UPSIDE_DOWN_RING_RATIO * max(float(np.median(rings)), 1e-6)
    if turned:
        # The markers are symmetric, so a sheet scanned upside down warps to the page turned by 180°.
        aligned = np.ascontiguousarray(aligned[::-1, ::-1])
        sampler = _Sampler.of(aligned)
    reading = _read_bubbles(sampler, table, _ring_asymmetry(sampler, table))
    reading.aligned = aligned
    ring_quality = 1.0 - reading.stats.get("misaligned_fraction", 0.0) / (2 * RING_MAX_MISALIGNED_FRACTION)
    reading.alignment_quality = round(float(np.clip(min(quality, ring_quality), 0.0, 1.0)), 3)
    reading.stats["alignment_rms_pt"] = round(rms_pt, 3)
    reading.stats["upside_down"] = float(turned)
    if quality < ALIGN_MIN_QUALITY or reading.stats.get("misaligned_fraction", 0.0) > RING_MAX_MISALIGNED_FRACTION:
        reading.review_reasons.insert(0, REASON_LOW_ALIGNMENT)
    return reading


# --- image preparation --------------------------------------------------------------------------------------------


class _EmptyImage(Exception):
    """A uniform picture (lens cap, blank scan): nothing to look for."""


def _reduce(gray: np.ndarray, layout: dict) -> np.ndarray:
    """One area-averaged reduction of a large picture (a 300 dpi scan, a 12 MP photo) to at most
    SOURCE_MAX_PX_PER_PT × the page's long side, so every later step works on ~3 MP whatever came in."""
    page_long_pt = max(float(layout["page"]["width"]), float(layout["page"]["height"]))
    limit = SOURCE_MAX_PX_PER_PT * page_long_pt
    # Halving with pyrDown (a Gaussian then every other pixel) is several times cheaper than an area resize by an
    # arbitrary factor; halve while the result keeps at least the working resolution.
    while max(gray.shape) > limit and max(gray.shape) / 2 >= WORK_PX_PER_PT * page_long_pt * 0.9:
        gray = cv2.pyrDown(gray)
    if max(gray.shape) <= limit:
        return gray
    f = limit / max(gray.shape)
    return cv2.resize(gray, (round(gray.shape[1] * f), round(gray.shape[0] * f)), interpolation=cv2.INTER_LINEAR)


def _to_gray(image: np.ndarray) -> np.ndarray | None:
    if not isinstance(image, np.ndarray) or image.size == 0 or image.ndim not in (2, 3):
        return None
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        elif np.issubdtype(image.dtype, np.floating):
            top = 1.0 if float(np.nanmax(image)) <= 1.0 else 255.0
            image = np.clip(np.nan_to_num(image) * (255.0 / top), 0, 255).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3:
        channels = image.shape[2]
        if channels == 1:
            image = image[:, :, 0]
        elif channels == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
        else:
            return None
    return np.ascontiguousarray(image)


def _quarter_background(gray: np.ndarray, kernel_px: float, *, close: bool = True) -> np.ndarray:
    """The paper's brightness at quarter resolution: a grey closing (max then min filter) wider than any ink feature,
    then a box blur, so marks, print and markers vanish and shadows stay. Two pyrDowns are much cheaper than an area
    resize by a non-integer factor.

    ``close=False`` keeps only the max filter: near the page's edge on a dark table, the min filter would pull the
    table's darkness over a corner marker and hide it."""
    small = cv2.pyrDown(cv2.pyrDown(gray))
    k = max(3, round(kernel_px / 4) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE if close else cv2.MORPH_DILATE, kernel)
    return cv2.blur(closed, (k, k))


def _background(gray: np.ndarray, kernel_px: float, *, close: bool = True) -> np.ndarray:
    """``_quarter_background`` brought back to the image's size."""
    h, w = gray.shape
    return cv2.resize(_quarter_background(gray, kernel_px, close=close), (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class _Sampler:
    """Mean darkness (0 paper .. 1 black, against the local background) of boxes of the aligned page. The background
    is smooth over a bubble, so mean(gray) / background(centre) stands for mean(gray / background) without dividing
    the whole page."""

    integral: np.ndarray  # of the aligned grey page (int32)
    background: np.ndarray  # quarter resolution

    @classmethod
    def of(cls, aligned: np.ndarray) -> _Sampler:
        return cls(
            integral=cv2.integral(aligned, sdepth=cv2.CV_32S),
            background=_quarter_background(aligned, BACKGROUND_KERNEL_PT * WORK_PX_PER_PT),
        )

    def darkness(self, xs: np.ndarray, ys: np.ndarray, hx: np.ndarray, hy: np.ndarray | None = None) -> np.ndarray:
        mean = _box_means(self.integral, xs, ys, hx, hy)
        bh, bw = self.background.shape
        bx = np.clip((xs / 4).astype(np.int64), 0, bw - 1)
        by = np.clip((ys / 4).astype(np.int64), 0, bh - 1)
        paper = np.maximum(self.background[by, bx].astype(np.float64), 1.0)
        return np.clip(1.0 - mean / paper, 0.0, 1.0)


# --- markers and homography ---------------------------------------------------------------------------------------


def _marker_geometry(layout: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Markers in layout order TL, TR, BR, BL: centres (4, 2), corners (4, 4, 2) and sizes (4,) in points.

    A marker's ``x, y`` is its centre and ``size`` its side, in points from the page's top-left (``layout.py``)."""
    markers = layout["markers"]
    if len(markers) != 4:
        raise ValueError("layout needs exactly four markers")
    centres = np.array([[m["x"], m["y"]] for m in markers], dtype=np.float64)
    size = np.array([m["size"] for m in markers], dtype=np.float64)
    xy = centres - size[:, None] / 2
    # Order TL, TR, BR, BL by the centres' position on the page.
    mid = centres.mean(axis=0)
    angle = np.arctan2(centres[:, 1] - mid[1], centres[:, 0] - mid[0])  # y down: TL ≈ -135°, TR ≈ -45°
    order = np.argsort(angle)  # -180..180 → TL, TR, BR, BL
    centres, xy, size = centres[order], xy[order], size[order]
    offsets = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)
    corners = xy[:, None, :] + offsets[None, :, :] * size[:, None, None]
    return centres, corners, size


@dataclass
class _Candidate:
    centre: np.ndarray  # (2,) in detection-image pixels
    area: float
    quad: np.ndarray  # (4, 2) polygon vertices in detection-image pixels


def _marker_candidates(small: np.ndarray, kernel_px: float) -> list[_Candidate]:
    h, w = small.shape
    bg = _background(small, kernel_px, close=False)
    norm = cv2.divide(small, bg, scale=255.0)  # 255 = as bright as the local paper
    mask = (norm < MARKER_DARK_RATIO * 255).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    long_side = max(h, w)
    min_area = max(30.0, (long_side * 0.006) ** 2)
    max_area = (long_side * 0.12) ** 2
    out: list[_Candidate] = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < min_area or area > max_area:
            continue
        hull = cv2.convexHull(contour)
        hull_area = cv2.contourArea(hull)
        if hull_area <= 0 or area / hull_area < MARKER_MIN_SOLIDITY:
            continue
        approx = cv2.approxPolyDP(hull, 0.08 * cv2.arcLength(hull, True), True)
        if len(approx) != 4:
            continue
        quad = approx.reshape(4, 2).astype(np.float64)
        quad_area = cv2.contourArea(approx)
        if quad_area <= 0 or not MARKER_QUAD_FILL[0] <= area / quad_area <= MARKER_QUAD_FILL[1]:
            continue
        sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
        if sides.min() <= 0 or sides.max() / sides.min() > MARKER_MAX_ASPECT:
            continue
        moments = cv2.moments(contour)
        centre = np.array([moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]])
        out.append(_Candidate(centre=centre, area=area, quad=quad))
    out.sort(key=lambda c: -c.area)
    return out[:MARKER_MAX_CANDIDATES]


def _local_scale(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Area scale (image px² per layout pt²) of homography ``h`` at layout points ``pts`` (n, 2): |det J|."""
    x, y = pts[:, 0], pts[:, 1]
    a, b, c = h[0]
    d, e, f = h[1]
    g, i, j = h[2]
    wgt = g * x + i * y + j
    u = (a * x + b * y + c) / wgt
    v = (d * x + e * y + f) / wgt
    dux = (a - g * u) / wgt
    duy = (b - i * u) / wgt
    dvx = (d - g * v) / wgt
    dvy = (e - i * v) / wgt
    return np.abs(dux * dvy - duy * dvx)


def _aspect(quad: np.ndarray) -> float:
    """Width over height of a TL, TR, BR, BL quad (mean of opposite sides)."""
    width = np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])
    height = np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])
    return float(width / max(height, 1e-9))


def _choose_four(cands: list[_Candidate], centres_pt: np.ndarray, sizes_pt: np.ndarray, image_area: float):
    """The four candidates whose positions and sizes best agree with one homography of the layout's markers."""
    layout_aspect = _aspect(centres_pt)
    best = None
    best_score = math.inf
    for combo in itertools.combinations(range(len(cands)), 4):
        pts = np.array([cands[k].centre for k in combo])
        areas = np.array([cands[k].area for k in combo])
        if areas.max() / areas.min() > MARKER_AREA_TOLERANCE**2:
            continue
        # Assign TL, TR, BR, BL by angle around the centroid (any rotation below ±45°) …
        mid = pts.mean(axis=0)
        order = np.argsort(np.arctan2(pts[:, 1] - mid[1], pts[:, 0] - mid[0]))
        # … then, when the quad lies the other way than the layout's (a portrait sheet in a landscape photo without
        # its EXIF turn), start one corner later: a quarter turn. Upside down is settled later by the printed rings.
        if (_aspect(pts[order]) > 1) != (layout_aspect > 1):
            order = np.roll(order, -1)
        pts = pts[order]
        areas = areas[order]
        quad = pts.astype(np.float32).reshape(-1, 1, 2)
        if not cv2.isContourConvex(quad) or cv2.contourArea(quad) < MARKER_MIN_QUAD_FRACTION * image_area:
            continue
        h = cv2.getPerspectiveTransform(centres_pt.astype(np.float32), pts.astype(np.float32))
        expected = _local_scale(h, centres_pt) * sizes_pt**2
        ratio = areas / np.maximum(expected, 1e-9)
        if ratio.min() < 1 / MARKER_AREA_TOLERANCE or ratio.max() > MARKER_AREA_TOLERANCE:
            continue
        score = float(np.abs(np.log(ratio)).sum())
        if score < best_score:
            best_score = score
            best = ([cands[k] for k in np.array(combo)[order]], h)
    return best


def _find_markers(gray: np.ndarray, layout: dict) -> tuple[np.ndarray, float] | None:
    """Homography layout pt → ``gray`` px and its RMS residual in points, or None when there are no four markers."""
    centres_pt, corners_pt, sizes_pt = _marker_geometry(layout)
    h_full, w_full = gray.shape
    scale = min(1.0, DETECT_LONG_SIDE / max(h_full, w_full))
    # Markers are big blobs: a bilinear reduction (≥ 0.5 here, after _reduce) loses nothing that matters for them.
    small = cv2.resize(gray, (round(w_full * scale), round(h_full * scale)), interpolation=cv2.INTER_LINEAR)
    if float(cv2.meanStdDev(small)[1][0, 0]) < 1.0:
        raise _EmptyImage
    page_long_pt = max(layout["page"]["width"], layout["page"]["height"])
    # The closing must erase a marker even when the page fills the whole frame.
    kernel_px = 2.5 * float(sizes_pt.max()) / page_long_pt * max(small.shape)
    cands = _marker_candidates(small, kernel_px)
    if len(cands) < 4:
        return None
    chosen = _choose_four(cands, centres_pt, sizes_pt, float(small.shape[0] * small.shape[1]))
    if chosen is None:
        return None
    markers, h0 = chosen

    # Refit on every marker corner, refined to sub-pixel on the full-resolution page, plus the centres.
    h0_inv = np.linalg.inv(h0)
    src_pts: list[np.ndarray] = []
    dst_pts: list[np.ndarray] = []
    for k, cand in enumerate(markers):
        quad_pt = cv2.perspectiveTransform(cand.quad.reshape(-1, 1, 2), h0_inv).reshape(-1, 2)
        layout_corners = corners_pt[k]
        # Match each detected vertex to the nearest layout corner of this marker.
        dist = np.linalg.norm(quad_pt[:, None, :] - layout_corners[None, :, :], axis=2)
        match = np.argmin(dist, axis=1)
        if len(set(match.tolist())) != 4:
            continue
        img_corners = (cand.quad / scale).astype(np.float32).reshape(-1, 1, 2)
        side_px = math.sqrt(cand.area) / scale
        win = max(2, int(side_px * 0.15))
        cv2.cornerSubPix(
            gray, img_corners, (win, win), (-1, -1), (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.05)
        )
        src_pts.extend(layout_corners[match])
        dst_pts.extend(img_corners.reshape(-1, 2).astype(np.float64))
    for k, cand in enumerate(markers):
        src_pts.append(centres_pt[k])
        dst_pts.append(cand.centre / scale)
    src = np.array(src_pts, dtype=np.float64)
    dst = np.array(dst_pts, dtype=np.float64)
    h_fit, _ = cv2.findHomography(src, dst, 0)
    if h_fit is None:
        h_fit = h0.copy()
        h_fit[:2] /= scale
        return h_fit, ALIGN_RMS_ZERO_PT
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), h_fit).reshape(-1, 2)
    err_px = np.linalg.norm(projected - dst, axis=1)
    px_per_pt = np.sqrt(_local_scale(h_fit, src))
    rms_pt = float(np.sqrt(np.mean((err_px / np.maximum(px_per_pt, 1e-9)) ** 2)))
    return h_fit, rms_pt


def _warp(gray: np.ndarray, h: np.ndarray, layout: dict) -> np.ndarray:
    """The page in layout coordinates at WORK_PX_PER_PT. A large source is first reduced with area averaging (no
    aliasing of pencil grain), then warped with bilinear interpolation."""
    width_px = round(layout["page"]["width"] * WORK_PX_PER_PT)
    height_px = round(layout["page"]["height"] * WORK_PX_PER_PT)
    page_centre = np.array([[layout["page"]["width"] / 2, layout["page"]["height"] / 2]])
    src_px_per_pt = float(np.sqrt(_local_scale(h, page_centre))[0])
    reduce = WORK_PX_PER_PT / src_px_per_pt
    src = gray
    h_src = h
    if reduce < 0.75:
        src = cv2.resize(gray, None, fx=reduce, fy=reduce, interpolation=cv2.INTER_AREA)
        h_src = np.diag([src.shape[1] / gray.shape[1], src.shape[0] / gray.shape[0], 1.0]) @ h
    # dst (work px) → layout pt → src px
    to_layout = np.diag([1 / WORK_PX_PER_PT, 1 / WORK_PX_PER_PT, 1.0])
    m = h_src @ to_layout
    return cv2.warpPerspective(
        src,
        m,
        (width_px, height_px),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


# --- bubbles ------------------------------------------------------------------------------------------------------


def _box_means(
    integral: np.ndarray, xs: np.ndarray, ys: np.ndarray, halves: np.ndarray, half_heights: np.ndarray | None = None
) -> np.ndarray:
    """Mean of the image over boxes centred at (xs, ys) px with half sides ``halves`` (and ``half_heights``) px: four
    lookups in the integral image per box, all boxes at once."""
    h, w = integral.shape[0] - 1, integral.shape[1] - 1
    half_y = halves if half_heights is None else half_heights
    x0 = np.clip(np.round(xs - halves).astype(np.int64), 0, w)
    x1 = np.clip(np.round(xs + halves).astype(np.int64) + 1, 0, w)
    y0 = np.clip(np.round(ys - half_y).astype(np.int64), 0, h)
    y1 = np.clip(np.round(ys + half_y).astype(np.int64) + 1, 0, h)
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    area = np.maximum((x1 - x0) * (y1 - y0), 1)
    return total / area


def _bubble_table(layout: dict):
    """Flatten the layout's bubbles: arrays of x, y, r (pt), the symbol each prints, and the slices per group."""
    xs: list[float] = []
    ys: list[float] = []
    rs: list[float] = []
    symbols: list[str] = []
    groups: list[tuple[str, int, list[int], slice]] = []  # (kind, id, labels, slice)
    for column, digits in enumerate(layout.get("identifier") or []):
        start = len(xs)
        for d in digits:
            xs.append(d["x"])
            ys.append(d["y"])
            rs.append(d["r"])
            symbols.append(f"d{d['digit']}")
        groups.append(("id", column, [int(d["digit"]) for d in digits], slice(start, len(xs))))
    for q in layout.get("questions") or []:
        start = len(xs)
        for c in q["choices"]:
            xs.append(c["x"])
            ys.append(c["y"])
            rs.append(c["r"])
            symbols.append(f"c{c['choice']}")
        groups.append(("q", int(q["number"]), [int(c["choice"]) for c in q["choices"]], slice(start, len(xs))))
    return np.array(xs), np.array(ys), np.array(rs), np.array(symbols), groups


def _baselines(darkness: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """Each bubble's empty level: its printed symbol's 25th percentile, clamped near the page median."""
    overall = float(np.median(darkness))
    base = np.full(darkness.shape, overall)
    for sym in np.unique(symbols):
        sel = symbols == sym
        if sel.sum() >= SYMBOL_BASELINE_MIN_SAMPLES:
            level = float(np.percentile(darkness[sel], 25))
            base[sel] = np.clip(level, overall - SYMBOL_BASELINE_MAX_SHIFT, overall + SYMBOL_BASELINE_MAX_SHIFT)
    return base


@dataclass(frozen=True)
class _Thresholds:
    empty: float  # contrast below which a bubble is empty
    mark: float  # contrast from which a bubble is a mark
    typical: float  # the page's typical mark

    @property
    def faint_residue_ceiling(self) -> float:
        return (self.empty + self.mark) / 2

    def clear_second_mark(self, c: float, c1: float) -> bool:
        return c >= self.mark and (c >= MULTI_REL * c1 or c >= CLEAR_MARK_REL_TO_PAGE * self.typical)


def _decide(contrast: np.ndarray, th: _Thresholds) -> tuple[MarkState, list[int]]:
    """One group's state and the indices of its marks (ONE: the mark; MULTIPLE: the clear marks)."""
    order = np.argsort(-contrast)
    c1 = float(contrast[order[0]])
    c2 = float(contrast[order[1]]) if len(order) > 1 else 0.0
    if c1 < th.empty:
        return MarkState.BLANK, []
    if c1 < th.mark:
        return MarkState.UNCERTAIN, []  # some ink, too faint to call a mark
    if c2 < th.empty:
        return MarkState.ONE, [int(order[0])]
    if th.clear_second_mark(c2, c1):
        marks = [int(k) for k in order if k == order[0] or th.clear_second_mark(float(contrast[k]), c1)]
        return MarkState.MULTIPLE, sorted(marks)
    if c2 < th.faint_residue_ceiling and c2 <= FAINT_RESIDUE_REL * c1:
        return MarkState.ONE, [int(order[0])]  # the second is an erasure's residue or a smudge
    return MarkState.UNCERTAIN, []


def _ring_scores(sampler: _Sampler, table, layout: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean darkness (0..1) of each bubble's ring band, where it belongs and at the 180°-turned position."""
    xs, ys, rs = table[0], table[1], table[2]
    if len(xs) == 0:
        return np.zeros(0), np.zeros(0)
    px = WORK_PX_PER_PT
    inner, outer = RING_BAND

    def band(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        big = sampler.darkness(x * px, y * px, rs * px * outer) * (2 * outer) ** 2
        small = sampler.darkness(x * px, y * px, rs * px * inner) * (2 * inner) ** 2
        return (big - small) / ((2 * outer) ** 2 - (2 * inner) ** 2)

    width, height = float(layout["page"]["width"]), float(layout["page"]["height"])
    return band(xs, ys), band(width - xs, height - ys)


def _ring_asymmetry(sampler: _Sampler, table) -> np.ndarray:
    """Per bubble, the larger of |left - right| / (left + right) and |top - bottom| / (top + bottom) ring darkness."""
    xs, ys, rs = table[0] * WORK_PX_PER_PT, table[1] * WORK_PX_PER_PT, table[2] * WORK_PX_PER_PT
    across, along = RING_SIDE_BOX[0] * rs, RING_SIDE_BOX[1] * rs
    left = sampler.darkness(xs - rs, ys, across, along)
    right = sampler.darkness(xs + rs, ys, across, along)
    top = sampler.darkness(xs, ys - rs, along, across)
    bottom = sampler.darkness(xs, ys + rs, along, across)
    floor = 1e-3  # two paper-only boxes are symmetric, not 0 / 0
    ax = np.abs(left - right) / (left + right + floor)
    ay = np.abs(top - bottom) / (top + bottom + floor)
    return np.maximum(ax, ay)


def _read_bubbles(sampler: _Sampler, table, rings: np.ndarray) -> PageReading:
    xs, ys, rs, symbols, groups = table
    reading = PageReading(status=PageStatus.READ)
    if len(xs) == 0:
        return reading
    px = WORK_PX_PER_PT
    fills = sampler.darkness(xs * px, ys * px, rs * px * SAMPLE_HALF_SIDE_OF_R)
    contrast = np.maximum(fills - _baselines(fills, symbols), 0.0)

    # Noise of the empty bubbles (robust sigma from the median absolute deviation of all contrasts: most are empty).
    med = float(np.median(contrast))
    noise = 1.4826 * float(np.median(np.abs(contrast - med)))
    empty_th = max(EMPTY_MAX_CONTRAST, med + EMPTY_NOISE_SIGMAS * noise)
    # The page's typical mark: the median darkest bubble of the groups that clearly hold one.
    tops = np.array([float(contrast[sl].max()) for *_, sl in groups if sl.stop > sl.start])
    clear = tops[tops >= max(MARK_MIN_CONTRAST, empty_th)]
    typical = float(np.median(clear)) if len(clear) >= PAGE_MARK_MIN_SAMPLES else NOMINAL_MARK_CONTRAST
    mark_th = max(MARK_MIN_CONTRAST, MARK_REL_TO_PAGE * typical, empty_th + 0.05)
    th = _Thresholds(empty=empty_th, mark=mark_th, typical=typical)
    reading.stats.update(
        {"empty_threshold": round(empty_th, 4), "mark_threshold": round(mark_th, 4), "typical_mark": round(typical, 4)}
    )
    reading.stats["empty_noise"] = round(noise, 4)

    blank = contrast < empty_th
    if blank.sum() >= 10:
        reading.stats["misaligned_fraction"] = round(float(np.mean(rings[blank] > RING_MAX_ASYMMETRY)), 4)

    reasons: list[str] = []
    if noise > MAX_EMPTY_NOISE:
        reasons.append(REASON_LOW_IMAGE_QUALITY)
    for kind, ident, labels, sl in groups:
        values = contrast[sl]
        if len(values) == 0:
            continue
        state, marks = _decide(values, th)
        rounded = [round(float(v), 3) for v in values]
        if kind == "id":
            value = labels[marks[0]] if state == MarkState.ONE else None
            reading.identifier.append(DigitReading(column=ident, value=value, state=state, fills=rounded))
            if state != MarkState.ONE:
                reasons.append(
                    {
                        MarkState.BLANK: REASON_ID_DIGIT_BLANK,
                        MarkState.MULTIPLE: REASON_ID_DIGIT_MULTIPLE,
                        MarkState.UNCERTAIN: REASON_ID_DIGIT_UNCERTAIN,
                    }[state]
                )
        else:
            chosen = [labels[k] for k in marks]
            reading.answers.append(QuestionReading(number=ident, choices_marked=chosen, state=state, fills=rounded))
            if state == MarkState.UNCERTAIN:
                reasons.append(REASON_AMBIGUOUS_MARK)
    reading.review_reasons = list(dict.fromkeys(reasons))
    return reading
