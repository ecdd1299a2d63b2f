"""Spreadsheets for the tests, written by openpyxl or byte by byte; only the .xls files of fixtures/ are committed
(made once by fixtures/make_xls.py with xlwt, which the project does not depend on)."""

import re
import struct
import zipfile
from pathlib import Path

from openpyxl import Workbook

ROSTER_HEADER = ["이름", "학부모 전화번호", "학생 전화번호", "학교", "학년", "성별", "메모"]


def write_xlsx(path: Path, rows: list[list], *, title: str | None = None, extra_sheets: dict | None = None,
               first_sheet_rows: list[list] | None = None) -> Path:
    """One sheet of `rows`; with `title`, a merged title in row 1 and a blank row 2 push the header to row 3.

    `first_sheet_rows` puts another sheet (a cover page) before the roster.
    """
    workbook = Workbook()
    sheet = workbook.active
    if first_sheet_rows is not None:
        sheet.title = "안내"
        for row in first_sheet_rows:
            sheet.append(row)
        sheet = workbook.create_sheet("명단")
    if title:
        sheet["A1"] = title
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(len(rows[0]) if rows else 1, 2))
        sheet.append([])
    for row in rows:
        sheet.append(row)
    for name, sheet_rows in (extra_sheets or {}).items():
        other = workbook.create_sheet(name)
        for row in sheet_rows:
            other.append(row)
    workbook.save(path)
    return path


def inject_cached_values(path: Path, values: dict[str, str | int], sheet: str = "xl/worksheets/sheet1.xml") -> Path:
    """Give formula cells the cached result Excel would have saved (openpyxl writes formulas without one)."""
    with zipfile.ZipFile(path) as source:
        parts = {info: source.read(info.filename) for info in source.infolist()}
    out = path.with_name(path.stem + "-cached.xlsx")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts.items():
            if info.filename == sheet:
                text = data.decode()
                for ref, value in values.items():
                    # A text result is marked t="str"; a number needs no type.
                    kind = ' t="str"' if isinstance(value, str) else ""
                    pattern = re.compile(rf'(<c r="{ref}")([^>]*>)(<f>.*?</f>)<v\s*/>')
                    text, count = pattern.subn(rf"\1{kind}\2\3<v>{value}</v>", text)
                    assert count == 1, f"no formula cell {ref} in {sheet}"
                data = text.encode()
            target.writestr(info.filename, data)
    return out


def write_million_empty_styled_rows(path: Path, data_rows: list[list[str]], empty_rows: int = 1_000_000) -> Path:
    """A roster followed by `empty_rows` styled rows without values, written straight into the sheet XML."""
    base = path.with_name("styled-base.xlsx")
    workbook = Workbook()
    workbook.active["A1"] = "x"
    workbook.active["A1"].style = "Note"
    workbook.save(base)
    with zipfile.ZipFile(base) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}

    def sheet_xml():
        yield (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        for number, row in enumerate(data_rows, start=1):
            cells = "".join(
                f'<c r="{chr(65 + column)}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
                for column, value in enumerate(row)
            )
            yield f'<row r="{number}">{cells}</row>'.encode()
        first = len(data_rows) + 1
        for start in range(first, first + empty_rows, 10_000):
            stop = min(start + 10_000, first + empty_rows)
            yield b"".join(b'<row r="%d" s="1" customFormat="1"><c r="A%d" s="1"/></row>' % (n, n)
                           for n in range(start, stop))
        yield b"</sheetData></worksheet>"

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name, data in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                with target.open(name, "w") as member:
                    for piece in sheet_xml():
                        member.write(piece)
            else:
                target.writestr(name, data)
    return path


def write_zip_bomb(path: Path, *, member_bytes: int) -> Path:
    """A structurally valid xlsx whose sheet inflates `member_bytes` of zeros from a few kilobytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        target.writestr("[Content_Types].xml", "<Types/>")
        target.writestr("xl/workbook.xml", "<workbook/>")
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(member_bytes // len(block)):
                member.write(block)
    return path


def ole_container(*stream_names: str) -> bytes:
    """A minimal compound-file (CFB/OLE) image: the signature, a header sector and one directory sector.

    Encrypted xlsx files are CFB containers holding an "EncryptedPackage" stream; .xls files hold "Workbook".
    """
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHH", header, 24, 0x3E, 3, 0xFFFE, 9)  # minor, major version, byte order, sector shift
    directory = bytearray()
    for name in ("Root Entry", *stream_names):
        entry = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        entry[0:len(encoded)] = encoded
        struct.pack_into("<H", entry, 64, len(encoded))
        entry[66] = 5 if name == "Root Entry" else 2
        directory += entry
    directory += bytes(512 - len(directory) % 512)
    return bytes(header) + bytes(directory)


def write_raw_sheet(path: Path, sheet_data: str) -> Path:
    """An xlsx whose first sheet's <sheetData> is exactly `sheet_data` (for shapes openpyxl never writes)."""
    base = path.with_name("raw-base.xlsx")
    workbook = Workbook()
    workbook.active["A1"] = "x"
    workbook.save(base)
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                        f"<sheetData>{sheet_data}</sheetData></worksheet>").encode()
            target.writestr(info.filename, data)
    return path


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
)


def ods_rows(rows: list[list]) -> str:
    """Table rows as LibreOffice writes them: string cells, one row element per row."""
    return "".join(
        "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'
            for value in row) + "</table:table-row>"
        for row in rows
    )


def write_ods(path: Path, sheets: dict[str, list[list] | str], *, active: str | None = None,
              hidden: tuple[str, ...] = ()) -> Path:
    """An OpenDocument spreadsheet written by hand: `sheets` maps a name to rows (or raw table-row XML).

    `hidden` sheets get a table style with display="false"; `active` is the ActiveTable of settings.xml.
    """
    tables = "".join(
        f'<table:table table:name="{name}" table:style-name="{"hidden" if name in hidden else "shown"}">'
        f'{rows if isinstance(rows, str) else ods_rows(rows)}</table:table>'
        for name, rows in sheets.items()
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
        '<office:automatic-styles>'
        '<style:style style:name="shown" style:family="table"><style:table-properties table:display="true"/>'
        '</style:style>'
        '<style:style style:name="hidden" style:family="table"><style:table-properties table:display="false"/>'
        '</style:style></office:automatic-styles>'
        f'<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>'
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest {_ODS_NS} manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        # The mimetype member comes first and uncompressed, as the OpenDocument package format requires.
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        if active is not None:
            archive.writestr("settings.xml", (
                f'<?xml version="1.0" encoding="UTF-8"?><office:document-settings {_ODS_NS}><office:settings>'
                '<config:config-item-set config:name="ooo:view-settings">'
                '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
                f'<config:config-item config:name="ActiveTable" config:type="string">{active}</config:config-item>'
                '</config:config-item-map-entry></config:config-item-map-indexed></config:config-item-set>'
                '</office:settings></office:document-settings>'
            ), zipfile.ZIP_DEFLATED)
    return path


FIXTURES = Path(__file__).parent / "fixtures"
