"""Upload checks before anything is stored (ARCHITECTURE §4 Excel enrollment): size, a spreadsheet format the
parser reads (xlsx, xls, ods, csv), no zip bomb, a bounded cell extent.

Every refusal raises an ExcelFileError with a stable code and a Korean message saying what to do.
The checks read the file as a stream and stop at the first limit crossed, so a hostile file costs at
most the configured number of bytes to inspect.
"""

import csv
import functools
import hashlib
import os
import re
import xml.parsers.expat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from .csvfile import CsvBinaryError, CsvDecodeError, csv_decode, csv_rows
from .errors import ExcelFileError, ExcelTooLargeError
from .xls import OLE_MAGIC, XlsEncryptedError, XlsFormatError, xls_sheet_extents

ZIP_MAGIC = b"PK\x03\x04"
ENCRYPTED_PACKAGE_NAME = "EncryptedPackage".encode("utf-16-le")
REQUIRED_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
ODS_CONTENT = "content.xml"
MAX_MEMBERS = 10_000
# Small parts (styles, shared strings of a tiny sheet) can compress far better than any sheet; the ratio cap
# only means something for members large enough to hurt.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024

MSG_EMPTY = "빈 파일입니다. 학생 명단이 들어 있는 엑셀 파일을 올려 주세요."
MSG_NOT_XLSX = (
    "엑셀 파일이 아닙니다. 엑셀 파일(.xlsx, .xls), ODS(.ods) 또는 CSV 파일만 올릴 수 있습니다. "
    "엑셀에서 'Excel 통합 문서(.xlsx)'로 저장한 뒤 다시 올려 주세요."
)
MSG_CORRUPT = "파일이 손상되었거나 끝까지 올라오지 않았습니다. 엑셀에서 다시 저장한 뒤 올려 주세요."
MSG_ZIP_BOMB = "압축을 풀면 너무 커지는 파일이라 처리할 수 없습니다. 필요한 시트만 남겨 다시 저장해 주세요."
MSG_ENCRYPTED = "암호가 걸린 엑셀 파일은 읽을 수 없습니다. 엑셀에서 암호를 해제하고 저장한 뒤 다시 올려 주세요."
MSG_XLS = (
    "웹 페이지(HTML)나 XML 형식으로 저장된 파일이라 읽을 수 없습니다. 엑셀에서 연 뒤 '다른 이름으로 저장' → "
    "'Excel 통합 문서(.xlsx)'로 저장한 뒤 다시 올려 주세요."
)
MSG_CSV_ENCODING = (
    "CSV 파일의 글자 인코딩을 알 수 없습니다. 엑셀에서 'CSV UTF-8(쉼표로 분리)' 또는 'CSV(쉼표로 분리)'로 "
    "다시 저장한 뒤 올려 주세요."
)
MSG_CSV_INVALID = (
    "CSV 파일을 읽을 수 없습니다. 따옴표가 닫히지 않았거나 한 칸의 내용이 너무 깁니다. "
    "엑셀에서 열어 확인한 뒤 다시 저장해 올려 주세요."
)
MSG_SHEET_TOO_LARGE = (
    "시트의 사용 범위가 너무 넓습니다. 명단이 없는 행과 열을 삭제하고 다시 저장한 뒤 올려 주세요."
)

_ROW_R = re.compile(rb'<row\b[^>]*?\sr="(\d{1,9})"')
_WIDE_COL = re.compile(rb'<c r="([A-Z]{2,3})\d')
_CELL_WITHOUT_R = re.compile(rb'<c(?:>|\s(?![^>]*\sr=")[^>]*>)')
_ANY_CELL_REF = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,3})\d')
# The row a value-holding cell's reference names (a <v> or inline <is>, after an optional formula). A reader places
# the cell there whatever its <row r> says, and rows may come in any order.
_VALUE_CELL_ROW = re.compile(
    rb'<c\b[^>]*?\sr="[A-Z]{1,3}(\d{1,9})"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<(?:v|is)[\s>]')
_HOLDS_VALUE = re.compile(rb"<(?:v|is)[\s>]")


def excel_upload_limits() -> dict[str, int]:
    return {
        "max_upload_bytes": settings.EXCEL_MAX_UPLOAD_BYTES,
        "max_uncompressed_bytes": settings.EXCEL_MAX_UNCOMPRESSED_BYTES,
        "max_compression_ratio": settings.EXCEL_MAX_COMPRESSION_RATIO,
        "max_sheet_cells": settings.EXCEL_MAX_SHEET_CELLS,
    }


def excel_validate_upload(source: str | Path | BinaryIO, *, filename: str = "") -> str:
    """The format ("xlsx", "xls", "ods" or "csv") of `source` (a path or a seekable binary file) if it is a safe,
    readable roster file; raise ExcelFileError otherwise."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            return _validate_stream(fh, filename=filename or str(source))
    position = source.tell()
    try:
        return _validate_stream(source, filename=filename or getattr(source, "name", "") or "")
    finally:
        source.seek(position)


def excel_file_sha256(source: str | Path | BinaryIO) -> str:
    """The hex SHA-256 of a file (a path or a seekable binary file, read from its start and left where it was).

    The upload's digest travels in the job payload: the worker validates again only bytes that are not the ones
    validated at upload, so a roster is inflated and scanned once, and a file swapped in storage is still checked.
    """
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    position = source.tell()
    source.seek(0)
    try:
        digest = hashlib.sha256()
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        source.seek(position)


def excel_file_format(head: bytes) -> str:
    """The format a file's first bytes announce: "xls" (OLE2), "zip" (xlsx or ods), or "csv" for anything else."""
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return "csv"


def _validate_stream(fh: BinaryIO, *, filename: str) -> str:
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
    kind = excel_file_format(fh.read(8))
    fh.seek(0)
    if kind == "xls":
        # The whole file is within max_upload_bytes.
        _check_ole(fh.read(), limits)
        return "xls"
    if kind == "zip":
        try:
            with zipfile.ZipFile(fh) as archive:
                return _check_archive(archive, limits)
        # OSError: a member offset the archive's own directory shifts before the start of the file.
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError) as exc:
            raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc
    data = fh.read()
    if _looks_like_markup(data[:4096]):
        # Many school and academy systems export an HTML table or an Excel 2003 XML file named .xls:
        # Excel opens it and saves it as .xlsx.
        raise ExcelFileError("EXCEL_XLS_UNSUPPORTED", MSG_XLS)
    _check_csv(data, filename=filename, limits=limits)
    return "csv"


def _check_ole(data: bytes, limits: dict[str, int]) -> None:
    # An encrypted xlsx is an OLE compound file holding an "EncryptedPackage" stream.
    if ENCRYPTED_PACKAGE_NAME in data:
        raise ExcelFileError("EXCEL_ENCRYPTED", MSG_ENCRYPTED)
    try:
        extents = xls_sheet_extents(data)
    except XlsEncryptedError:
        raise ExcelFileError("EXCEL_ENCRYPTED", MSG_ENCRYPTED)
    except XlsFormatError as exc:
        # A Word document or a cut-off upload: no workbook stream to read.
        raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc
    for extent in extents:
        if extent.dense_cells > limits["max_sheet_cells"]:
            raise ExcelFileError("EXCEL_SHEET_TOO_LARGE", MSG_SHEET_TOO_LARGE, details={
                "sheet": extent.index + 1, "rows": extent.rows, "columns": extent.columns})


def _check_csv(data: bytes, *, filename: str, limits: dict[str, int]) -> None:
    named_as_text = filename.lower().endswith((".csv", ".tsv", ".txt"))
    try:
        text, _ = csv_decode(data)
    except CsvBinaryError:
        raise ExcelFileError("EXCEL_NOT_XLSX", MSG_NOT_XLSX)
    except CsvDecodeError:
        if named_as_text:
            raise ExcelFileError("EXCEL_CSV_ENCODING", MSG_CSV_ENCODING)
        raise ExcelFileError("EXCEL_NOT_XLSX", MSG_NOT_XLSX)
    # The parser holds one record at a time; the bound is the same dense extent as a sheet's, so a file of
    # separators alone cannot become millions of cells.
    rows = columns = 0
    try:
        for number, record in enumerate(csv_rows(text), start=1):
            if len(record) > columns:
                columns = len(record)
            if any(record):
                rows = number
            if rows * columns > limits["max_sheet_cells"]:
                raise ExcelFileError("EXCEL_SHEET_TOO_LARGE", MSG_SHEET_TOO_LARGE,
                                     details={"sheet": 1, "rows": rows, "columns": columns})
    except csv.Error as exc:
        raise ExcelFileError("EXCEL_CSV_INVALID", MSG_CSV_INVALID) from exc


def _looks_like_markup(sample: bytes) -> bool:
    text = sample.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or (
        text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in sample
    )


def _check_archive(archive: zipfile.ZipFile, limits: dict[str, int]) -> str:
    members = archive.infolist()
    names = {info.filename for info in members}
    if all(name in names for name in REQUIRED_MEMBERS):
        kind = "xlsx"
    elif _is_ods(archive, names):
        kind = "ods"
    else:
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
        if kind == "xlsx":
            is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            extent = _SheetExtent() if is_sheet else None
        else:
            extent = _OdsExtent(limits["max_sheet_cells"]) if info.filename == ODS_CONTENT else None
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                inflated += len(chunk)
                if inflated > limits["max_uncompressed_bytes"]:
                    raise ExcelFileError("EXCEL_ZIP_BOMB", MSG_ZIP_BOMB)
                if extent is not None:
                    extent.feed(chunk)
                elif kind == "ods" and info.filename == "META-INF/manifest.xml" and b"encryption-data" in chunk:
                    raise ExcelFileError("EXCEL_ENCRYPTED", MSG_ENCRYPTED)
        if extent is not None:
            extent.finish()
            if extent.dense_cells > limits["max_sheet_cells"]:
                raise ExcelFileError(
                    "EXCEL_SHEET_TOO_LARGE",
                    MSG_SHEET_TOO_LARGE,
                    details={"sheet": getattr(extent, "sheet", info.filename), "rows": extent.max_value_row,
                             "columns": extent.max_column},
                )
    return kind


def _is_ods(archive: zipfile.ZipFile, names: set[str]) -> bool:
    """An OpenDocument spreadsheet: a `mimetype` member naming it, and the content part a reader opens."""
    if "mimetype" not in names or ODS_CONTENT not in names:
        return False
    info = archive.getinfo("mimetype")
    if info.file_size > 256:
        return False
    return archive.read(info).strip() == ODS_MIMETYPE


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
        # A hostile sheet names a far row in a cell reference or puts its rows out of order: the last value's row
        # alone would miss it, and the reader would allocate the whole range.
        value_rows = _VALUE_CELL_ROW.findall(piece)
        if value_rows:
            self.max_value_row = max(self.max_value_row, max(map(int, value_rows)))

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
                numbered = _ROW_R.search(row_xml)
                if numbered and _HOLDS_VALUE.search(row_xml):
                    self.max_value_row = max(self.max_value_row, int(numbered.group(1)))

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


_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_REPEAT_DIGITS = 9


class _OdsExtent:
    """Bounds the dense cell range a reader allocates for each table of an ODS content.xml, from its XML stream.

    ODS compresses repetition into attributes: one row written once with number-rows-repeated="100000" and a cell
    with number-columns-repeated="100" is ten million cells for the reader (1.2 KB on disk, over a gigabyte in
    calamine). Rows and cells without a value (LibreOffice writes the empty rest of a sheet as one repeated row)
    do not widen the range. expat reads the stream without building a tree and never loads external entities.
    """

    def __init__(self, max_cells: int) -> None:
        self._max_cells = max_cells
        self._parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        self._parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._tables = 0
        self._row = self._row_repeat = self._column = self._row_width = self._cell_repeat = 0
        self._in_cell = self._cell_has_value = False
        self._table_rows = self._table_columns = 0
        self.sheet = 0
        self.max_value_row = 0
        self.max_column = 0

    @property
    def dense_cells(self) -> int:
        return self.max_value_row * self.max_column

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.Parse(chunk, False)
        except xml.parsers.expat.ExpatError as exc:
            raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc

    def finish(self) -> None:
        try:
            self._parser.Parse(b"", True)
        except xml.parsers.expat.ExpatError as exc:
            raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc

    @staticmethod
    def _repeat(attributes: dict, name: str) -> int:
        value = attributes.get(f"{_TABLE_NS} {name}", "1")
        if not value.isdigit() or len(value) > _REPEAT_DIGITS:
            raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT)
        return max(int(value), 1)

    def _start(self, name: str, attributes: dict) -> None:
        if self._in_cell:
            self._cell_has_value = True
            return
        if name == f"{_TABLE_NS} table":
            self._tables += 1
            self._row = self._table_rows = self._table_columns = 0
        elif name == f"{_TABLE_NS} table-row":
            self._row_repeat = self._repeat(attributes, "number-rows-repeated")
            self._column = self._row_width = 0
        elif name in (f"{_TABLE_NS} table-cell", f"{_TABLE_NS} covered-table-cell"):
            self._cell_repeat = self._repeat(attributes, "number-columns-repeated")
            self._in_cell = True
            self._cell_has_value = f"{_OFFICE_NS} value-type" in attributes

    def _end(self, name: str) -> None:
        if name in (f"{_TABLE_NS} table-cell", f"{_TABLE_NS} covered-table-cell"):
            self._column += self._cell_repeat
            if self._cell_has_value:
                self._row_width = self._column
            self._in_cell = False
        elif self._in_cell:
            return
        elif name == f"{_TABLE_NS} table-row":
            self._row += self._row_repeat
            if self._row_width:
                self._table_rows = self._row
                self._table_columns = max(self._table_columns, self._row_width)
                self._widen()
        elif name == f"{_TABLE_NS} table":
            self._widen()

    def _widen(self) -> None:
        # Report the largest table seen so far; stop at the first one over the limit.
        if self._table_rows * self._table_columns > self.dense_cells:
            self.max_value_row, self.max_column, self.sheet = self._table_rows, self._table_columns, self._tables
        if self.dense_cells > self._max_cells:
            raise ExcelFileError("EXCEL_SHEET_TOO_LARGE", MSG_SHEET_TOO_LARGE, details={
                "sheet": self.sheet, "rows": self.max_value_row, "columns": self.max_column})
