"""ARCHITECTURE §4 AI, OCR core: image bytes → text and a mean confidence, with Tesseract (Korean and English).

Pure: no Django. The Tesseract binary and its language data are found through pytesseract (`tesseract_cmd`).
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass

import pytesseract
from PIL import Image, ImageOps

LANGUAGES = ("kor", "eng")


class OcrUnavailable(Exception):
    """Tesseract or one of LANGUAGES' data is missing here."""


class OcrTimeout(Exception):
    """Tesseract did not finish within the time given; its process was killed."""


@dataclass(frozen=True)
class OcrResult:
    text: str
    # Mean of Tesseract's word confidences, 0–100 (0 when no word was found).
    confidence: float


def missing_languages(tesseract_cmd: str = "tesseract") -> list[str]:
    """The LANGUAGES the Tesseract at `tesseract_cmd` lacks; raises OcrUnavailable when it cannot run at all."""
    pytesseract.pytesseract.tesseract_cmd = tesseract_cmd
    try:
        installed = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError,
            subprocess.SubprocessError) as exc:
        raise OcrUnavailable(str(exc)) from exc
    return [language for language in LANGUAGES if language not in installed]


def recognize(image_bytes: bytes, *, tesseract_cmd: str = "tesseract", timeout: float | None = None) -> OcrResult:
    """Text of a printed page or question in `image_bytes` (JPEG or PNG, validated before), read as Korean and
    English, with Tesseract's own line and word spacing. `timeout` (seconds) kills Tesseract (OcrTimeout).

    One Tesseract run writes both the text and the word table the confidence comes from.
    """
    with Image.open(io.BytesIO(image_bytes)) as image:
        # A phone photo's orientation lives in EXIF; Tesseract reads grey levels.
        page = ImageOps.exif_transpose(image).convert("L")
    tess = pytesseract.pytesseract
    tess.tesseract_cmd = tesseract_cmd
    try:
        with tess.save(page) as (output_base, input_filename):
            tess.run_tesseract(input_filename, output_base, extension="txt", lang="+".join(LANGUAGES),
                               config="--psm 6 -c tessedit_create_txt=1 -c tessedit_create_tsv=1",
                               timeout=timeout or 0)
            with open(f"{output_base}.txt", encoding="utf-8") as txt, open(f"{output_base}.tsv",
                                                                              encoding="utf-8") as tsv:
                text, table = txt.read(), tsv.read()
    except tess.TesseractNotFoundError as exc:
        raise OcrUnavailable(str(exc)) from exc
    except RuntimeError as exc:
        # pytesseract's own timeout: "Tesseract process timeout"
        if "timeout" in str(exc).lower():
            raise OcrTimeout(str(exc)) from exc
        raise
    return OcrResult(text=_clean(text), confidence=_mean_confidence(table))


def _clean(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\f", "").splitlines()]
    return "\n".join(lines).strip()


def _mean_confidence(table: str) -> float:
    """Mean confidence of the recognised words in Tesseract's TSV (level 5 rows with text), 0 without any."""
    rows = table.splitlines()
    if not rows:
        return 0.0
    header = rows[0].split("\t")
    try:
        conf_at, text_at = header.index("conf"), header.index("text")
    except ValueError:
        return 0.0
    confidences = []
    for row in rows[1:]:
        cells = row.split("\t")
        if len(cells) <= max(conf_at, text_at) or not cells[text_at].strip():
            continue
        try:
            confidence = float(cells[conf_at])
        except ValueError:
            continue
        if confidence >= 0:
            confidences.append(confidence)
    return round(sum(confidences) / len(confidences), 1) if confidences else 0.0
