"""Upload checks before anything is stored (ARCHITECTURE §4 Excel enrollment): size, real xlsx, no zip bomb.

Every refusal raises an ExcelFileError with a stable code and a Korean message saying what to do.
The checks read the archive as a stream and stop at the first limit crossed, so a hostile file costs at
most the configured number of bytes to inspect.
"""

import functools
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from .errors import ExcelFileError, ExcelTooLargeError

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE_NAME = "EncryptedPackage".encode("utf-16-le")
REQUIRED_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")
MAX_MEMBERS = 10_000
# Small parts (styles, shared strings of a tiny sheet) can compress far better than any sheet; the ratio cap
# only means something for members large enough to hurt.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024

MSG_EMPTY = "빈 파일입니다. 학생 명단이 들어 있는 엑셀 파일을 올려 주세요."
MSG_NOT_XLSX = "엑셀 파일(.xlsx)이 아닙니다. 엑셀에서 'Excel 통합 문서(.xlsx)'로 저장한 뒤 다시 올려 주세요."
MSG_CORRUPT = "파일이 손상되었거나 끝까지 올라오지 않았습니다. 엑셀에서 다시 저장한 뒤 올려 주세요."
MSG_ZIP_BOMB = "압축을 풀면 너무 커지는 파일이라 처리할 수 없습니다. 필요한 시트만 남겨 다시 저장해 주세요."
MSG_ENCRYPTED = "암호가 걸린 엑셀 파일은 읽을 수 없습니다. 엑셀에서 암호를 해제하고 저장한 뒤 다시 올려 주세요."
MSG_XLS = (
    "엑셀 97-2003(.xls) 형식은 지원하지 않습니다. 엑셀에서 '다른 이름으로 저장' → "
    "'Excel 통합 문서(.xlsx)'로 저장한 뒤 다시 올려 주세요."
)
MSG_CSV = (
    "CSV 파일은 지원하지 않습니다. CSV 파일을 엑셀에서 연 뒤 '다른 이름으로 저장' → "
    "'Excel 통합 문서(.xlsx)'로 저장해서 다시 올려 주세요."
)
MSG_SHEET_TOO_LARGE = (
    "시트의 사용 범위가 너무 넓습니다. 명단이 없는 행과 열을 삭제하고 다시 저장한 뒤 올려 주세요."
)

_ROW_R = re.compile(rb'<row\b[^>]*?\sr="(\d{1,9})"')
_WIDE_COL = re.compile(rb'<c r="([A-Z]{2,3})\d')
_CELL_WITHOUT_R = re.compile(rb'<c(?:>|\s(?![^>]*\sr=")[^>]*>)')
_ANY_CELL_REF = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,3})\d')


def excel_upload_limits() -> dict[str, int]:
    return {
        "max_upload_bytes": settings.EXCEL_MAX_UPLOAD_BYTES,
        "max_uncompressed_bytes": settings.EXCEL_MAX_UNCOMPRESSED_BYTES,
        "max_compression_ratio": settings.EXCEL_MAX_COMPRESSION_RATIO,
        "max_sheet_cells": settings.EXCEL_MAX_SHEET_CELLS,
    }


def excel_validate_upload(source: str | Path | BinaryIO, *, filename: str = "") -> None:
    """Raise ExcelFileError unless `source` (a path or a seekable binary file) is a safe, readable xlsx."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            _validate_stream(fh, filename=filename or str(source))
        return
    position = source.tell()
    try:
        _validate_stream(source, filename=filename or getattr(source, "name", "") or "")
    finally:
        source.seek(position)


def _validate_stream(fh: BinaryIO, *, filename: str) -> None:
    limits = excel_upload_limits()
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    if size == 0:
        raise ExcelFileError("EXCEL_EMPTY_FILE", MSG_EMPTY)
    if size > limits["max_upload_bytes"]:
        megabytes = limits["max_upload_bytes"] // (1024 * 1024)
        raise ExcelTooLargeError(
            "EXCEL_TOO_LARGE",
            f"엑셀 파일이 너무 큽니다. {megabytes}MB 이하의 파일만 올릴 수 있습니다.",
            details={"size": size, "max_size": limits["max_upload_bytes"]},
        )
    head = fh.read(8)
    fh.seek(0)
    if head.startswith(OLE_MAGIC):
        # An encrypted xlsx is an OLE compound file holding an "EncryptedPackage" stream; any other OLE
        # file given as a workbook is the old binary .xls format.
        if ENCRYPTED_PACKAGE_NAME in fh.read():
            raise ExcelFileError("EXCEL_ENCRYPTED", MSG_ENCRYPTED)
        raise ExcelFileError("EXCEL_XLS_UNSUPPORTED", MSG_XLS)
    if not head.startswith(ZIP_MAGIC):
        sample = fh.read(4096)
        if _looks_like_markup(sample):
            # Many school and academy systems export an HTML table or an Excel 2003 XML file named .xls:
            # Excel opens it, and saving it as .xlsx is the same fix as for a real .xls.
            raise ExcelFileError("EXCEL_XLS_UNSUPPORTED", MSG_XLS)
        if filename.lower().endswith((".csv", ".tsv", ".txt")) or _looks_like_text(sample):
            raise ExcelFileError("EXCEL_CSV_UNSUPPORTED", MSG_CSV)
        raise ExcelFileError("EXCEL_NOT_XLSX", MSG_NOT_XLSX)
    try:
        with zipfile.ZipFile(fh) as archive:
            _check_archive(archive, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
        raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc


def _looks_like_markup(sample: bytes) -> bool:
    text = sample.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or (
        text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in sample
    )


def _looks_like_text(sample: bytes) -> bool:
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text, as Excel's "Unicode text" export
        return True
    if not sample or b"\x00" in sample:
        return False
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "," in text or "\t" in text or "\n" in text
    return False


def _check_archive(archive: zipfile.ZipFile, limits: dict[str, int]) -> None:
    members = archive.infolist()
    names = {info.filename for info in members}
    if not all(name in names for name in REQUIRED_MEMBERS):
        raise ExcelFileError("EXCEL_NOT_XLSX", MSG_NOT_XLSX)
    if len(members) > MAX_MEMBERS:
        raise ExcelFileError("EXCEL_ZIP_BOMB", MSG_ZIP_BOMB)
    if any(info.flag_bits & 0x1 for info in members):
        raise ExcelFileError("EXCEL_ENCRYPTED", MSG_ENCRYPTED)
    declared = sum(info.file_size for info in members)
    if declared > limits["max_uncompressed_bytes"]:
        raise ExcelFileError("EXCEL_ZIP_BOMB", MSG_ZIP_BOMB, details={"uncompressed_size": declared})
    for info in members:
        if info.file_size >= RATIO_CHECK_MIN_BYTES and (
            info.file_size > limits["max_compression_ratio"] * max(info.compress_size, 1)
        ):
            raise ExcelFileError("EXCEL_ZIP_BOMB", MSG_ZIP_BOMB, details={"member": info.filename})
    # The declared sizes come from the archive itself: inflate every member for real (zipfile stops at the
    # declared size and checks the CRC) so a lying header cannot hide a bomb from the parser.
    inflated = 0
    for info in members:
        is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        extent = _SheetExtent() if is_sheet else None
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                inflated += len(chunk)
                if inflated > limits["max_uncompressed_bytes"]:
                    raise ExcelFileError("EXCEL_ZIP_BOMB", MSG_ZIP_BOMB)
                if extent is not None:
                    extent.feed(chunk)
        if extent is not None:
            extent.finish()
            if extent.dense_cells > limits["max_sheet_cells"]:
                raise ExcelFileError(
                    "EXCEL_SHEET_TOO_LARGE",
                    MSG_SHEET_TOO_LARGE,
                    details={"sheet": info.filename, "rows": extent.max_value_row, "columns": extent.max_column},
                )


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + (letter - 64)
    return index


class _SheetExtent:
    """Bounds the dense cell range a reader allocates for one worksheet, from its XML stream.

    A reader such as calamine allocates (last row holding a value) × (widest column) cells, so a value in
    A1 and another in XFD1048576 would exhaust memory although the file is tiny. Empty styled rows and
    cells carry no value and do not widen the range. Counting relies on C-speed byte searches; the regex
    paths only run on the columns past Z and on cells written without an `r` attribute.
    """

    def __init__(self) -> None:
        self._carry = b""
        self.rows_seen = 0
        self.current_row = 0
        self.max_value_row = 0
        self.max_column = 0

    @property
    def dense_cells(self) -> int:
        return self.max_value_row * self.max_column

    def feed(self, chunk: bytes) -> None:
        data = self._carry + chunk
        # Cut after the last complete tag so no pattern is split across two pieces.
        cut = data.rfind(b">") + 1
        self._carry = data[cut:]
        if cut:
            self._scan(data[:cut])

    def finish(self) -> None:
        if self._carry:
            self._scan(self._carry + b">")
            self._carry = b""

    def _row_number_at(self, piece: bytes, start: int, rows_before: int) -> int:
        match = _ROW_R.match(piece, start)
        if match:
            return int(match.group(1))
        # Rows before this one plus this one: the slice ends right after its 5-byte "<row " or "<row>".
        return rows_before + piece.count(b"<row ", 0, start + 5) + piece.count(b"<row>", 0, start + 5)

    def _scan(self, piece: bytes) -> None:
        rows_before = self.rows_seen
        last_value = max(piece.rfind(b"<v>"), piece.rfind(b"<v "), piece.rfind(b"<is>"), piece.rfind(b"<is "))
        if last_value >= 0:
            row_start = max(piece.rfind(b"<row ", 0, last_value), piece.rfind(b"<row>", 0, last_value))
            row = self._row_number_at(piece, row_start, rows_before) if row_start >= 0 else self.current_row
            self.max_value_row = max(self.max_value_row, row)
        last_row_start = max(piece.rfind(b"<row "), piece.rfind(b"<row>"))
        if last_row_start >= 0:
            self.current_row = self._row_number_at(piece, last_row_start, rows_before)
        self.rows_seen += piece.count(b"<row ") + piece.count(b"<row>")

        cells = piece.count(b"<c ") + piece.count(b"<c>")
        if cells == 0:
            return
        if piece.count(b'<c r="') == cells:
            self._widen_from_refs(piece)
            return
        # Attributes in another order, or cells without a reference: the slower exact path.
        for match in _ANY_CELL_REF.finditer(piece):
            self.max_column = max(self.max_column, _column_index(match.group(1)))
        if _CELL_WITHOUT_R.search(piece):
            for row_xml in piece.split(b"</row>"):
                self.max_column = max(self.max_column, row_xml.count(b"<c ") + row_xml.count(b"<c>"))

    def _widen_from_refs(self, piece: bytes) -> None:
        wide = _WIDE_COL.findall(piece)
        if wide:
            self.max_column = max(self.max_column, max(_column_index(letters) for letters in set(wide)))
            return
        if self.max_column >= 26:
            return
        letters = _letters_after(self.max_column).findall(piece)
        if letters:
            self.max_column = max(_column_index(letter) for letter in set(letters))


@functools.lru_cache(maxsize=26)
def _letters_after(column: int) -> re.Pattern:
    """Single-letter cell references right of `column`: one regex pass instead of one scan per letter."""
    first = chr(ord("A") + column)
    return re.compile(rb'<c r="([' + first.encode() + rb'-Z])\d')
