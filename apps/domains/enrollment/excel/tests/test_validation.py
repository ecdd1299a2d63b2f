"""Upload checks: every hostile or wrong file is refused with its code and a Korean message, before storage."""

import io
import struct
import zipfile

import pytest

from apps.domains.enrollment.excel.errors import ExcelFileError, ExcelTooLargeError
from apps.domains.enrollment.excel.validation import MSG_CSV_ENCODING, MSG_XLS, excel_validate_upload

from .builders import (
    FIXTURES,
    ods_rows,
    ole_container,
    write_million_empty_styled_rows,
    write_ods,
    write_raw_sheet,
    write_xlsx,
    write_zip_bomb,
)


def refusal(source, **kwargs) -> ExcelFileError:
    with pytest.raises(ExcelFileError) as caught:
        excel_validate_upload(source, **kwargs)
    return caught.value


@pytest.fixture
def valid_xlsx(tmp_path):
    return write_xlsx(tmp_path / "ok.xlsx", [["이름", "학부모 전화번호"], ["홍길동", "010-1234-5678"]])


def test_a_real_roster_passes_from_a_path_and_from_a_file_object(valid_xlsx):
    assert excel_validate_upload(valid_xlsx) == "xlsx"
    with open(valid_xlsx, "rb") as fh:
        fh.seek(3)
        excel_validate_upload(fh)
        # The caller's position is kept: the upload can be stored right after the check.
        assert fh.tell() == 3


def test_default_limits_are_ten_megabytes_and_two_hundred_inflated(settings):
    assert settings.EXCEL_MAX_UPLOAD_BYTES == 10 * 1024 * 1024
    assert settings.EXCEL_MAX_UNCOMPRESSED_BYTES == 200 * 1024 * 1024


def test_an_oversize_file_is_refused_with_413(valid_xlsx, settings):
    settings.EXCEL_MAX_UPLOAD_BYTES = valid_xlsx.stat().st_size - 1
    error = refusal(valid_xlsx)
    assert isinstance(error, ExcelTooLargeError)
    assert (error.code, error.status_code) == ("EXCEL_TOO_LARGE", 413)
    assert error.details == {"size": valid_xlsx.stat().st_size, "max_size": valid_xlsx.stat().st_size - 1}


def test_an_empty_file_is_refused():
    assert refusal(io.BytesIO(b"")).code == "EXCEL_EMPTY_FILE"


def test_bytes_that_are_not_a_zip_are_refused():
    error = refusal(io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(100)), filename="photo.png")
    assert error.code == "EXCEL_NOT_XLSX"
    assert "Excel 통합 문서(.xlsx)" in error.message and ".xls" in error.message and "CSV" in error.message


def test_a_truncated_xlsx_is_refused_as_corrupt(valid_xlsx):
    data = valid_xlsx.read_bytes()
    error = refusal(io.BytesIO(data[: len(data) // 2]))
    assert error.code == "EXCEL_CORRUPT"


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert refusal(buffer, filename="letter.docx").code == "EXCEL_NOT_XLSX"


@pytest.mark.parametrize("kind", ["xlsx", "ods"])
def test_a_zip_whose_directory_shifts_members_before_the_file_start_is_refused_as_corrupt(tmp_path, kind):
    # The end record claims the central directory starts 100 bytes later than it does: zipfile shifts every member
    # 100 bytes back and seeks before byte 0; a real file (a large upload, the worker's download) raises OSError,
    # a server error before. Found by fuzzing an .ods.
    rows = [["이름", "학부모 전화번호"], ["홍길동", "01012345678"]]
    path = write_xlsx(tmp_path / "r.xlsx", rows) if kind == "xlsx" else write_ods(tmp_path / "r.ods", {"명단": rows})
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, struct.unpack_from("<I", data, end + 16)[0] + 100)
    path.write_bytes(bytes(data))
    assert refusal(path).code == "EXCEL_CORRUPT"


def test_a_highly_compressible_member_is_refused_as_a_zip_bomb(tmp_path):
    bomb = write_zip_bomb(tmp_path / "bomb.xlsx", member_bytes=8 * 1024 * 1024)
    assert bomb.stat().st_size < 100 * 1024
    assert refusal(bomb).code == "EXCEL_ZIP_BOMB"


def test_the_total_inflated_size_is_capped(tmp_path, settings):
    settings.EXCEL_MAX_UNCOMPRESSED_BYTES = 100_000
    rows = [["이름", "학부모 전화번호"]] + [[f"학생{i}", f"010{i:08d}"] for i in range(3000)]
    path = write_xlsx(tmp_path / "big.xlsx", rows)
    assert refusal(path).code == "EXCEL_ZIP_BOMB"


def test_a_header_lying_about_the_inflated_size_is_caught(valid_xlsx):
    # Shrink the sheet's declared size in the central directory: the real inflate overruns it.
    data = bytearray(valid_xlsx.read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    # The central directory entry is 46 bytes of fields followed by the name; its size field sits at +24.
    central = data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02")) - 46
    assert data[central:central + 4] == b"PK\x01\x02"
    data[central + 24:central + 28] = (info.file_size // 2).to_bytes(4, "little")
    assert refusal(io.BytesIO(bytes(data))).code == "EXCEL_CORRUPT"


def test_a_legacy_xls_workbook_is_accepted():
    assert excel_validate_upload(FIXTURES / "roster_hidden_first.xls") == "xls"


def test_an_xls_with_a_far_away_value_is_refused_before_the_reader_allocates_it():
    # 6 KB on disk; calamine would allocate 65,536 x 256 cells (about a gigabyte).
    error = refusal(FIXTURES / "far_cell.xls")
    assert error.code == "EXCEL_SHEET_TOO_LARGE"
    assert error.details == {"sheet": 1, "rows": 65536, "columns": 256}


def test_a_compound_file_without_a_workbook_stream_is_refused_as_corrupt():
    assert refusal(io.BytesIO(ole_container("WordDocument")), filename="명단.xls").code == "EXCEL_CORRUPT"


def test_a_password_protected_xls_is_refused_as_encrypted():
    # Turn the WRITEACCESS record (id 0x005C, 112 bytes) of the workbook globals into FILEPASS (0x002F): the record
    # a protected .xls carries before its encrypted records.
    data = (FIXTURES / "roster_hidden_first.xls").read_bytes()
    record = data.index(b"\x5c\x00\x70\x00")
    protected = data[:record] + b"\x2f\x00" + data[record + 2:]
    assert refusal(io.BytesIO(protected), filename="명단.xls").code == "EXCEL_ENCRYPTED"


def patched_xls(marker: bytes, offset: int, value: bytes) -> io.BytesIO:
    """The fixture with `value` written `offset` bytes into the body of the first record starting with `marker`
    (record id and length, little-endian)."""
    data = (FIXTURES / "roster_hidden_first.xls").read_bytes()
    at = data.index(marker) + 4 + offset
    return io.BytesIO(data[:at] + value + data[at + len(value):])


def test_an_xls_whose_dimensions_record_announces_billions_of_cells_is_refused():
    # calamine reserves (last row - first row) x (columns) cells from DIMENSIONS: 0x7B000000 rows aborted the
    # process on a 165 GB allocation. Found by mutating the fixture; the row count is the record's bytes 4-7.
    error = refusal(patched_xls(b"\x00\x02\x0e\x00", 4, struct.pack("<I", 0x7B000000)), filename="명단.xls")
    assert (error.code, error.details["rows"]) == ("EXCEL_SHEET_TOO_LARGE", 0x7B000000)


def test_an_xls_whose_sheet_offset_points_outside_the_workbook_is_refused_as_corrupt():
    # calamine slices the stream at BOUNDSHEET's offset and panicked past its end.
    assert refusal(patched_xls(b"\x85\x00\x0c\x00", 0, struct.pack("<I", 0x00140435)),
                   filename="명단.xls").code == "EXCEL_CORRUPT"


def test_an_xls_whose_string_table_announces_more_strings_than_bytes_is_refused_as_corrupt():
    # calamine reserves one string per announced entry of the SST record (bytes 4-7 of its body).
    assert refusal(patched_xls(b"\xfc\x00\x80\x00", 4, struct.pack("<i", 0x7FFFFFFF)),
                   filename="명단.xls").code == "EXCEL_CORRUPT"


def test_a_compound_file_announcing_more_allocation_sectors_than_it_holds_is_refused_as_corrupt():
    data = bytearray((FIXTURES / "roster_hidden_first.xls").read_bytes())
    struct.pack_into("<I", data, 0x2C, 0x10000000)  # number of FAT sectors
    assert refusal(io.BytesIO(bytes(data)), filename="명단.xls").code == "EXCEL_CORRUPT"


def test_an_xls_cut_short_is_refused_as_corrupt():
    data = (FIXTURES / "roster_hidden_first.xls").read_bytes()
    assert refusal(io.BytesIO(data[:1500]), filename="명단.xls").code == "EXCEL_CORRUPT"


def test_a_password_protected_workbook_is_refused_as_encrypted():
    error = refusal(io.BytesIO(ole_container("EncryptionInfo", "EncryptedPackage")), filename="명단.xlsx")
    assert error.code == "EXCEL_ENCRYPTED"
    assert "암호" in error.message


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp949", "euc-kr", "utf-16"])
def test_a_csv_in_the_encodings_korean_programs_write_is_accepted(encoding):
    data = "이름,학부모 전화번호\n홍길동,010-1234-5678\n".encode(encoding)
    assert excel_validate_upload(io.BytesIO(data), filename="roster.csv") == "csv"


def test_a_csv_in_no_known_encoding_is_refused_with_instructions():
    # Latin-1 bytes that are neither UTF-8 nor CP949.
    error = refusal(io.BytesIO("이름,학부모 전화번호\n".encode() + b"\xff\xfe\xfd,\x80\n"), filename="명단.csv")
    assert (error.code, error.message) == ("EXCEL_CSV_ENCODING", MSG_CSV_ENCODING)


def test_binary_bytes_are_not_taken_for_a_csv():
    assert refusal(io.BytesIO(b"name,phone\n\x00\x01\x02"), filename="명단.csv").code == "EXCEL_NOT_XLSX"
    assert refusal(io.BytesIO(b"%PDF-1.4\n\x1b\x07stream"), filename="명단.pdf").code == "EXCEL_NOT_XLSX"


def test_a_csv_of_separators_alone_is_bounded_like_a_sheet(settings):
    settings.EXCEL_MAX_SHEET_CELLS = 1000
    error = refusal(io.BytesIO(b"a" + b"," * 2000 + b"b\n"), filename="wide.csv")
    assert (error.code, error.details) == ("EXCEL_SHEET_TOO_LARGE", {"sheet": 1, "rows": 1, "columns": 2001})
    rows = b"".join(b"a,b\n" for _ in range(501))
    assert refusal(io.BytesIO(rows), filename="long.csv").details == {"sheet": 1, "rows": 501, "columns": 2}
    excel_validate_upload(io.BytesIO(rows[:-4 * 2]), filename="long.csv")


def test_a_csv_with_a_cell_longer_than_the_csv_reader_allows_is_refused():
    error = refusal(io.BytesIO(b'name,memo\n"' + b"x" * 200_000 + b'"\n'), filename="명단.csv")
    assert error.code == "EXCEL_CSV_INVALID"


def test_an_ods_spreadsheet_is_accepted(tmp_path):
    path = write_ods(tmp_path / "명단.ods", {"명단": [["이름", "학부모 전화번호"], ["홍길동", "01012345678"]]})
    assert excel_validate_upload(path) == "ods"


def test_an_ods_repeating_one_row_into_millions_of_cells_is_refused(tmp_path):
    # 1 KB on disk; calamine expands it to 10,000,000 cells (over a gigabyte).
    row = ('<table:table-row table:number-rows-repeated="100000"><table:table-cell table:number-columns-repeated='
           '"100" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>')
    path = write_ods(tmp_path / "bomb.ods", {"명단": row})
    assert path.stat().st_size < 2048
    error = refusal(path)
    assert (error.code, error.details) == ("EXCEL_SHEET_TOO_LARGE", {"sheet": 1, "rows": 100000, "columns": 100})


def test_an_ods_whose_empty_rest_is_one_repeated_row_passes(tmp_path):
    # LibreOffice writes the unused rest of every sheet as one empty row repeated to the last row.
    empty = ('<table:table-row table:number-rows-repeated="1048574"><table:table-cell '
             'table:number-columns-repeated="16384"/></table:table-row>')
    path = write_ods(tmp_path / "명단.ods", {"명단": ods_rows([["이름", "학부모 전화번호"]]) + empty})
    assert excel_validate_upload(path) == "ods"


def test_a_zip_claiming_another_opendocument_type_is_not_a_spreadsheet(tmp_path):
    path = write_ods(tmp_path / "letter.odt", {"명단": [["이름"]]})
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tmp_path / "text.odt", "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, b"application/vnd.oasis.opendocument.text" if info.filename == "mimetype" else data)
    assert refusal(tmp_path / "text.odt").code == "EXCEL_NOT_XLSX"


def test_a_sheet_with_a_far_away_value_is_refused_before_the_reader_allocates_it(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = "이름"
    workbook.active["XFD1048576"] = "x"
    path = tmp_path / "sparse.xlsx"
    workbook.save(path)
    error = refusal(path)
    assert error.code == "EXCEL_SHEET_TOO_LARGE"
    assert error.details == {"sheet": "xl/worksheets/sheet1.xml", "rows": 1048576, "columns": 16384}


@pytest.mark.parametrize("rows", [
    # a cell whose reference names a row far below the row it is written in
    '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c><c r="XFD1048576"><v>1</v></c></row>',
    # the far row first, a near one last: the last value's row alone is 3
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row><row r="3"><c r="A3"><v>1</v></c></row>',
    # the same without cell references (eight cells: a million rows of one cell is within the limit)
    '<row r="1048576">' + '<c><v>1</v></c>' * 8 + '</row><row r="3"><c><v>1</v></c></row>',
], ids=["cell ref below its row", "rows out of order", "rows out of order without refs"])
def test_a_far_value_hidden_from_the_last_row_is_still_counted(tmp_path, rows):
    # Each of these made calamine abort the worker on allocation before the extent counted every value's row.
    path = write_raw_sheet(tmp_path / "hostile.xlsx", '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
                           + rows)

    error = refusal(path)

    assert (error.code, error.details["rows"]) == ("EXCEL_SHEET_TOO_LARGE", 1048576)


def test_a_million_empty_styled_rows_pass_because_they_hold_no_value(tmp_path):
    path = write_million_empty_styled_rows(tmp_path / "styled.xlsx", [["이름", "학부모 전화번호"]])
    excel_validate_upload(path)


def test_the_sheet_extent_counts_the_last_row_holding_a_value_and_the_widest_column(tmp_path, settings):
    settings.EXCEL_MAX_SHEET_CELLS = 20 * 8 - 1
    rows = [[f"v{r}{c}" for c in range(8)] for r in range(20)]
    error = refusal(write_xlsx(tmp_path / "wide.xlsx", rows))
    assert (error.code, error.details["rows"], error.details["columns"]) == ("EXCEL_SHEET_TOO_LARGE", 20, 8)
    settings.EXCEL_MAX_SHEET_CELLS = 20 * 8
    excel_validate_upload(tmp_path / "wide.xlsx")


def test_cells_and_rows_without_references_are_counted_by_position(tmp_path, settings):
    settings.EXCEL_MAX_SHEET_CELLS = 30 * 12 - 1
    cells = '<c t="inlineStr"><is><t>a</t></is></c>' * 12
    path = write_raw_sheet(tmp_path / "bare.xlsx", f"<row>{cells}</row>" * 30)
    error = refusal(path)
    assert (error.code, error.details["rows"], error.details["columns"]) == ("EXCEL_SHEET_TOO_LARGE", 30, 12)


def test_values_far_down_a_styled_sheet_count_up_to_their_row(tmp_path, settings):
    settings.EXCEL_MAX_SHEET_CELLS = 250_000 - 1
    styled = "".join(f'<row r="{n}"><c r="A{n}" s="1"/></row>' for n in range(2, 250_000))
    path = write_raw_sheet(tmp_path / "far.xlsx", '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
                           + styled + '<row r="250000"><c r="A250000"><v>1</v></c></row>')
    error = refusal(path)
    assert (error.details["rows"], error.details["columns"]) == (250_000, 1)


@pytest.mark.parametrize("content", [
    b"<html><body><table><tr><td>\xec\x9d\xb4\xeb\xa6\x84</td></tr></table></body></html>",
    b'\xef\xbb\xbf<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
], ids=["html table", "excel 2003 xml"])
def test_an_html_or_xml_export_named_xls_gets_the_save_as_xlsx_message(content):
    error = refusal(io.BytesIO(content), filename="명단.xls")
    assert (error.code, error.message) == ("EXCEL_XLS_UNSUPPORTED", MSG_XLS)
    assert "HTML" in error.message


def test_a_django_upload_is_checked_in_place(valid_xlsx):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("명단.xlsx", valid_xlsx.read_bytes())
    excel_validate_upload(upload)
    assert upload.tell() == 0
    csv = SimpleUploadedFile("명단.csv", "이름,학부모 전화번호\n".encode("cp949"))
    assert excel_validate_upload(csv) == "csv"
    assert csv.tell() == 0
