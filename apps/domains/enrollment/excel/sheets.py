"""Where a roster's rows come from (ARCHITECTURE §4 Excel enrollment): the sheets of a workbook in the order a
person would look at them, or the records of a CSV file, each as lists of cell values.

Sheet order: the active sheet (the one Excel opens on) if it is visible, then the other visible sheets left to
right, then hidden ones. A hidden sheet often holds last year's roster or lookup lists: the parser takes it only
when no visible sheet holds a roster header, and says so with a HIDDEN_SHEET warning.
Formats are told apart by their first bytes (the validator's rule), never by the file name.
"""

import csv
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import unescape

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from .csvfile import CsvBinaryError, CsvDecodeError, csv_decode, csv_rows
from .errors import ExcelFileError
from .validation import MSG_CORRUPT, MSG_CSV_ENCODING, MSG_CSV_INVALID, excel_file_format

MSG_HIDDEN_SHEET = (
    "보이는 시트에서 명단을 찾지 못해 숨겨진 시트 '{sheet}'의 명단을 읽었습니다. 맞는 명단인지 확인해 주세요."
)
_CALAMINE_SUFFIXES = {"zip": (".xlsx", ".xlsm", ".ods"), "xls": (".xls",)}
# Small parts read whole to find the active sheet and the sheets' parts; anything larger is not a normal workbook.
_PART_LIMIT = 4 * 1024 * 1024
_ACTIVE_TAB = re.compile(rb'<(?:\w+:)?workbookView\b[^>]*?\sactiveTab="(\d{1,5})"')
_ODS_ACTIVE = re.compile(rb'config:name="ActiveTable"[^>]*>([^<]{1,300})<')
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")
_REL_ID = re.compile(rb'\s[\w.]+:id="([^"]+)"')
_REL_TAG = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb'\s(Id|Target)="([^"]*)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s/>]")
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d{1,7})"')
_CACHED_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?>[^<]")
_CHUNK = 1024 * 1024


@dataclass
class RosterSheet:
    """One sheet (or the CSV file) to look for a roster in: `rows` yields lists of cell values from row 1."""

    name: str | None
    rows: Iterator[list]
    hidden: bool = False
    index: int = 0
    warnings: list[dict] = field(default_factory=list)


@contextmanager
def roster_sheets(path: str | Path) -> Iterator[Iterator[RosterSheet]]:
    """The sheets of the workbook at `path` in the order to try them. Raises ExcelFileError (EXCEL_CORRUPT, CSV)."""
    path = Path(path)
    with open(path, "rb") as fh:
        kind = excel_file_format(fh.read(8))
    if kind == "csv":
        yield iter([RosterSheet(name=None, rows=_csv_records(path))])
        return
    workbook = _open_workbook(path, kind)
    with workbook:
        yield _ordered_sheets(workbook, path, kind)


def _open_workbook(path: Path, kind: str) -> CalamineWorkbook:
    try:
        if path.suffix.lower() in _CALAMINE_SUFFIXES[kind]:
            return CalamineWorkbook.from_path(str(path))
        # calamine picks its reader by the extension; without a known one it is given the bytes to sniff.
        with open(path, "rb") as fh:
            return CalamineWorkbook.from_filelike(fh)
    except BaseException as exc:
        if isinstance(exc, (CalamineError, OSError, ValueError)) or _is_reader_panic(exc):
            raise ExcelFileError("EXCEL_CORRUPT", MSG_CORRUPT) from exc
        raise


def _is_reader_panic(exc: BaseException) -> bool:
    # pyo3 turns a panic of the Rust reader (an index past a malformed record) into PanicException, which derives
    # from BaseException: `except Exception` would let a corrupt file crash the job as a handler error.
    return type(exc).__name__ == "PanicException"


def _ordered_sheets(workbook: CalamineWorkbook, path: Path, kind: str) -> Iterator[RosterSheet]:
    names = workbook.sheet_names
    metadata = workbook.sheets_metadata
    hidden = {index for index, sheet in enumerate(metadata) if sheet.visible != SheetVisibleEnum.Visible}
    charts = {index for index, sheet in enumerate(metadata) if sheet.typ == SheetTypeEnum.ChartSheet}
    active = _active_sheet(path, kind, names)
    order = [index for index in range(len(names)) if index not in hidden]
    if active in order:
        order.remove(active)
        order.insert(0, active)
    order += sorted(hidden)
    for index in order:
        if index in charts:
            continue
        try:
            sheet = workbook.get_sheet_by_index(index)
        except BaseException as exc:
            if isinstance(exc, (CalamineError, ValueError)) or _is_reader_panic(exc):
                continue
            raise
        warnings = []
        if index in hidden:
            warnings.append({"code": "HIDDEN_SHEET", "message": MSG_HIDDEN_SHEET.format(sheet=names[index])})
        yield RosterSheet(name=names[index], rows=sheet.iter_rows(), hidden=index in hidden, index=index,
                          warnings=warnings)


def _active_sheet(path: Path, kind: str, names: list[str]) -> int | None:
    """The index of the sheet the file opens on: xlsx `activeTab`, ods `ActiveTable`; None when not recorded."""
    if kind != "zip":
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = _read_part(archive, "xl/workbook.xml")
            if workbook is not None:
                match = _ACTIVE_TAB.search(workbook)
                # Excel leaves activeTab out when the first sheet is active.
                return int(match.group(1)) if match else 0
            settings = _read_part(archive, "settings.xml")
            match = _ODS_ACTIVE.search(settings or b"")
            if match:
                name = unescape(match.group(1).decode("utf-8", "replace"), {"&quot;": '"', "&apos;": "'"})
                return names.index(name) if name in names else None
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > _PART_LIMIT:
        return None
    return archive.read(info)


def _csv_records(path: Path) -> Iterator[list]:
    try:
        text, _ = csv_decode(path.read_bytes())
    except (CsvDecodeError, CsvBinaryError) as exc:
        raise ExcelFileError("EXCEL_CSV_ENCODING", MSG_CSV_ENCODING) from exc
    return _padded(csv_rows(text))


def _padded(records: Iterator[list[str]]) -> Iterator[list]:
    """Records as rows of one width: a sheet's rows are all as wide as its widest, a CSV's lines need not be.

    A record shorter than the ones before is padded with "" to their width, so a column the header names always
    exists in the rows below it.
    """
    width = 0
    try:
        for record in records:
            if len(record) < width:
                record.extend([""] * (width - len(record)))
            else:
                width = len(record)
            yield record
    except csv.Error as exc:
        raise ExcelFileError("EXCEL_CSV_INVALID", MSG_CSV_INVALID) from exc


def uncalculated_formula_cells(path: str | Path, sheet: RosterSheet) -> dict[int, str]:
    """Row number → first cell reference of the formulas without a stored result on `sheet` of an xlsx.

    calamine reads such a cell as "" (openpyxl and other generators write formulas and never calculate them; Excel
    calculates and stores the results when it saves). Empty for every other format: .xls and .ods writers store
    results, a CSV has none.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet.index)
            if part is None:
                return {}
            return _scan_formulas(archive, part)
    except (zipfile.BadZipFile, OSError, ValueError):
        return {}


def _sheet_part(archive: zipfile.ZipFile, index: int) -> str | None:
    workbook = _read_part(archive, "xl/workbook.xml")
    rels = _read_part(archive, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    sheets = _SHEET_TAG.findall(workbook)
    if index >= len(sheets):
        return None
    rel_id = _REL_ID.search(sheets[index])
    if rel_id is None:
        return None
    for tag in _REL_TAG.findall(rels):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get(b"Id") == rel_id.group(1):
            target = unescape(attributes.get(b"Target", b"").decode("utf-8", "replace"))
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _scan_formulas(archive: zipfile.ZipFile, part: str) -> dict[int, str]:
    found: dict[int, str] = {}
    carry = b""
    with archive.open(part) as member:
        while True:
            chunk = member.read(_CHUNK)
            data = carry + chunk
            # Whole cells only: cut after the last "</c>" and keep the rest for the next piece.
            last = data.rfind(b"</c>")
            cut = (last + 4 if last >= 0 else 0) if chunk else len(data)
            piece, carry = data[:cut], data[cut:]
            for match in _FORMULA.finditer(piece):
                start = piece.rfind(b"<c ", 0, match.start())
                end = piece.find(b"</c>", match.end())
                if start < 0:
                    continue
                if _CACHED_VALUE.search(piece, match.end(), end if end >= 0 else len(piece)):
                    continue
                ref = _CELL_REF.search(piece, start, match.start())
                if ref is not None:
                    found.setdefault(int(ref.group(2)), (ref.group(1) + ref.group(2)).decode())
            if not chunk:
                return found
