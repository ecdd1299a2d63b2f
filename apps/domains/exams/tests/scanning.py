"""Test helpers for scans: filled sheets made from an exam's real PDF and layout, pages that are not sheets, and the
files staff upload (PNG, JPEG, HEIC, multi-page PDF)."""

import io
from functools import cache

import cv2
import numpy as np
from PIL import Image

from apps.domains.exams import selectors
from apps.domains.exams.omr.render import encode_image, fill_bubbles, render_page

DPI = 150  # the low end a scanner produces: keeps the tests fast


@cache
def _blank(pdf: bytes, dpi: int) -> np.ndarray:
    return render_page(pdf, dpi)[0]


def filled_sheet(exam, *, identifier: str, answers: dict, style: str = "pen", dpi: int = DPI,
                 seed: int = 0) -> np.ndarray:
    """The exam's sheet rendered at `dpi` with `answers` ({number: choice or [choices]}) and `identifier` marked."""
    blank = _blank(selectors.exam_sheet_pdf(exam=exam), dpi)
    return fill_bubbles(blank, selectors.exam_sheet_layout(exam=exam), dpi,
                        {"answers": answers, "identifier": identifier}, style=style, seed=seed)


def blank_page(dpi: int = DPI) -> np.ndarray:
    return np.full((int(11.69 * dpi), int(8.27 * dpi)), 255, dtype=np.uint8)


def text_page(dpi: int = DPI) -> np.ndarray:
    """A printed page that is not an answer sheet: lines of text and a table, no corner markers."""
    page = blank_page(dpi)
    for row in range(40):
        y = int((1 + row * 0.25) * dpi)
        cv2.putText(page, f"Chapter {row}: the quick brown fox jumps over the lazy dog", (int(0.7 * dpi), y),
                    cv2.FONT_HERSHEY_SIMPLEX, dpi / 200, 0, 1, cv2.LINE_AA)
    cv2.rectangle(page, (int(0.7 * dpi), int(6 * dpi)), (int(7.5 * dpi), int(9 * dpi)), 0, 2)
    return page


def png(image: np.ndarray) -> bytes:
    return encode_image(image, fmt="png")


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    return encode_image(image, fmt="jpeg", quality=quality)


def heic(image: np.ndarray) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(out, "HEIF", quality=90)
    return out.getvalue()


def pdf(images: list[np.ndarray], dpi: int = DPI) -> bytes:
    """A multi-page PDF of the pages as a scanner writes one (each page an embedded image at `dpi`)."""
    pages = [Image.fromarray(image) for image in images]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return out.getvalue()
