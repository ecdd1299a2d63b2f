"""ARCHITECTURE §4 AI, uploads: an image is checked before it is stored or decoded (hostile input).

Size first (read no further than the limit), then the type by its magic bytes (not the name or the client's content
type), then the pixel count from the header through Pillow's decompression-bomb guard, then Pillow's integrity check.
The worker runs the same check on what it downloads.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from .errors import ImageInvalidError, ImageTooLargeError, ImageTooManyPixelsError

MAGIC = {
    b"\xff\xd8\xff": ("jpeg", "jpg", "image/jpeg"),
    b"\x89PNG\r\n\x1a\n": ("png", "png", "image/png"),
}
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    format: str  # jpeg | png
    extension: str
    content_type: str
    width: int
    height: int


def read_limited(upload, max_bytes: int) -> bytes:
    """The upload's bytes, refusing (413) past `max_bytes` without reading more than one byte beyond it."""
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageTooLargeError(details={"max_size": max_bytes})
    return data


def check_image(data: bytes, *, max_bytes: int, max_pixels: int) -> CheckedImage:
    if len(data) > max_bytes:
        raise ImageTooLargeError(details={"size": len(data), "max_size": max_bytes})
    kind = next((found for magic, found in MAGIC.items() if data.startswith(magic)), None)
    if kind is None:
        raise ImageInvalidError(details={"allowed": ["image/jpeg", "image/png"]})
    image_format, extension, content_type = kind
    # Pillow refuses (error) at twice its MAX_IMAGE_PIXELS and warns above it: both are a bomb here, and our own
    # limit (below Pillow's) is checked from the header before any pixel is decoded.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[image_format]]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageTooManyPixelsError(details={"width": width, "height": height,
                                                           "max_pixels": max_pixels})
                image.verify()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooManyPixelsError(details={"max_pixels": max_pixels})
        except ImageTooManyPixelsError:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ImageInvalidError()
    if width < 1 or height < 1:
        raise ImageInvalidError()
    return CheckedImage(data=data, format=image_format, extension=extension, content_type=content_type,
                        width=width, height=height)
