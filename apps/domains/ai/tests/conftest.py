"""AI fixtures: the job fixtures (fake queues, an in-process worker client), images to upload, a clean OCR check."""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFont

from apps.domains.ai import services
from apps.domains.exams.omr.sheet_pdf import DEFAULT_FONT_PATH
from apps.jobs.tests.conftest import fake_queues, test_kinds  # noqa: F401
from apps.worker.tests.conftest import in_process_client  # noqa: F401

# The font the OMR sheet embeds, vendored with its licence: no system font package needed.
NANUM_GOTHIC = str(DEFAULT_FONT_PATH)
SENTENCE = "다음 중 옳은 것을 고르시오. 3x + 2 = 11 일 때 x의 값은?"


@pytest.fixture(autouse=True)
def fresh_ocr_check():
    services.ocr_check_reset()
    yield
    services.ocr_check_reset()


def render_text(text: str = SENTENCE, *, size: int = 36, image_format: str = "PNG") -> bytes:
    font = ImageFont.truetype(NANUM_GOTHIC, size)
    width = int(font.getlength(text)) + 2 * size
    image = Image.new("RGB", (width, 3 * size), "white")
    ImageDraw.Draw(image).text((size, size), text, font=font, fill="black")
    out = io.BytesIO()
    image.save(out, image_format)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims width x height pixels (a decompression bomb as far as the header goes)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + _chunk(b"IEND", b""))
