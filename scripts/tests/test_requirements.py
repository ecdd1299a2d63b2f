"""The hash-locked requirements (docs/decisions/0021): the lock agrees with its .in files, each image's file holds
its smaller images' versions, and academy-base (the messaging and video images) carries none of the media and
spreadsheet libraries those processes never load (apps/worker/tests/test_image_imports.py)."""

import re
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)
# Distributions of the modules the messaging and video processes must not load.
HEAVY_DISTRIBUTIONS = {"opencv-python-headless", "numpy", "pillow", "reportlab", "pypdfium2", "pillow-heif",
                       "pytesseract", "openpyxl", "python-calamine"}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {_name(name): version for name, version in PIN.findall(path.read_text())}


def test_academy_base_carries_no_media_or_spreadsheet_library():
    assert HEAVY_DISTRIBUTIONS & set(pins(REQUIREMENTS / "base.txt")) == set()
    assert HEAVY_DISTRIBUTIONS <= set(pins(REQUIREMENTS / "worker.txt"))


@pytest.mark.parametrize("name", ["base", "worker", "api", "dev"])
def test_every_direct_pin_is_locked_at_its_version_with_hashes(name):
    locked_text = (REQUIREMENTS / f"{name}.txt").read_text()
    locked = pins(REQUIREMENTS / f"{name}.txt")
    direct = pins(REQUIREMENTS / f"{name}.in")

    assert direct, "an .in file with no pins"
    assert {key: locked.get(key) for key in direct} == direct
    for block in re.split(r"\n(?=[A-Za-z0-9])", locked_text):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


@pytest.mark.parametrize(("smaller", "larger"), [("base", "worker"), ("worker", "api"), ("api", "dev"),
                                                 ("worker", "dev")])
def test_a_larger_image_keeps_the_smaller_images_versions(smaller, larger):
    small, large = pins(REQUIREMENTS / f"{smaller}.txt"), pins(REQUIREMENTS / f"{larger}.txt")

    assert {key: large.get(key) for key in small} == small
