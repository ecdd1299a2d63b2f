"""The OCR core (apps/domains/ai/ocr.py) on the real Tesseract with its Korean data, and the image checks."""

import difflib

import pytest

from apps.domains.ai import ocr
from apps.domains.ai.errors import ImageInvalidError, ImageTooLargeError, ImageTooManyPixelsError
from apps.domains.ai.images import check_image

from .conftest import SENTENCE, png_declaring, render_text

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 40_000_000}


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_a_rendered_korean_sentence_is_read_back_with_a_confidence(image_format):
    result = ocr.recognize(render_text(image_format=image_format))

    assert difflib.SequenceMatcher(None, result.text, SENTENCE).ratio() >= 0.8, result.text
    assert 50 <= result.confidence <= 100


def test_a_blank_image_reads_as_no_text_and_zero_confidence():
    result = ocr.recognize(render_text(" "))

    assert (result.text, result.confidence) == ("", 0.0)


def test_missing_tesseract_or_language_data_is_told_apart(monkeypatch):
    assert ocr.missing_languages() == []
    with pytest.raises(ocr.OcrUnavailable):
        ocr.missing_languages("/nonexistent/tesseract")
    monkeypatch.setattr(ocr.pytesseract, "get_languages", lambda config="": ["eng", "osd"])
    assert ocr.missing_languages() == ["kor"]


def test_a_tesseract_past_its_timeout_is_killed():
    with pytest.raises(ocr.OcrTimeout):
        ocr.recognize(render_text(SENTENCE * 3), timeout=0.01)


def test_jpeg_and_png_pass_the_image_check_by_their_bytes():
    png = check_image(render_text(), **LIMITS)
    jpeg = check_image(render_text(image_format="JPEG"), **LIMITS)

    assert (png.format, png.content_type, jpeg.format, jpeg.extension) == ("png", "image/png", "jpeg", "jpg")


@pytest.mark.parametrize(("data", "error"), [
    (b"", ImageInvalidError),
    (b"hello, not an image", ImageInvalidError),
    (b"GIF89a" + b"\x00" * 64, ImageInvalidError),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ImageInvalidError),  # PNG magic, nothing readable after it
    (b"\xff\xd8\xff" + b"\x00" * 64, ImageInvalidError),
    (png_declaring(50_000, 50_000), ImageTooManyPixelsError),  # past Pillow's own bomb limit
    (png_declaring(8_000, 6_000), ImageTooManyPixelsError),  # under Pillow's, over ours (40 MP)
])
def test_the_image_check_refuses_what_is_not_a_safe_jpeg_or_png(data, error):
    with pytest.raises(error):
        check_image(data, **LIMITS)


def test_the_image_check_refuses_a_file_over_the_size_limit():
    with pytest.raises(ImageTooLargeError):
        check_image(render_text(), max_bytes=100, max_pixels=LIMITS["max_pixels"])
