"""CSV rosters as Korean Excel and other programs save them: encoding and delimiter detected, rows as lists of text.

Excel's "CSV (쉼표로 분리)" is CP949 on a Korean Windows, "CSV UTF-8" has a BOM, other programs write UTF-8 without
one, and "유니코드 텍스트" is tab-separated UTF-16 with a BOM. UTF-8 is tried strictly first: CP949 (a superset of
EUC-KR) decodes almost any byte string, so it would also accept UTF-8 text as garbage.
"""

import csv
import io
import re
from collections.abc import Iterator

DELIMITERS = (",", "\t", ";")
_SNIFF_LINES = 20
_SNIFF_CHARS = 64 * 1024
# Control characters other than tab, line feed and carriage return: binary data, not text.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CsvDecodeError(ValueError):
    """The bytes are not text in an encoding a roster is saved in."""


class CsvBinaryError(ValueError):
    """The bytes hold NUL or other control characters: a binary file, not text."""


def csv_decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a CSV file's bytes. Raises CsvBinaryError, CsvDecodeError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise CsvDecodeError("bad utf-16") from exc
    elif b"\x00" in data:
        raise CsvBinaryError()
    else:
        for encoding in ("utf-8-sig", "cp949"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise CsvDecodeError("neither utf-8 nor cp949")
    if _BINARY.search(text):
        raise CsvBinaryError()
    return text.removeprefix("\ufeff"), encoding


def csv_delimiter(text: str) -> str:
    """The one of , tab ; that the first lines use most (comma when none does)."""
    head = "\n".join(text[:_SNIFF_CHARS].splitlines()[:_SNIFF_LINES])
    counts = {delimiter: head.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def csv_rows(text: str) -> Iterator[list[str]]:
    """The records of `text` as lists of cells (a record may span lines inside quotes). Raises csv.Error."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
