"""Upload checks: every hostile or wrong file is refused with its code and a Korean message, before storage."""

import io
import zipfile

import pytest

from apps.domains.enrollment.excel.errors import ExcelFileError, ExcelTooLargeError
from apps.domains.enrollment.excel.validation import MSG_XLS, excel_validate_upload

from .builders import ole_container, write_million_empty_styled_rows, write_raw_sheet, write_xlsx, write_zip_bomb


def refusal(source, **kwargs) -> ExcelFileError:
    with pytest.raises(ExcelFileError) as caught:
        excel_validate_upload(source, **kwargs)
    return caught.value


@pytest.fixture
def valid_xlsx(tmp_path):
    return write_xlsx(tmp_path / "ok.xlsx", [["이름", "학부모 전화번호"], ["홍길동", "010-1234-5678"]])


def test_a_real_roster_passes_from_a_path_and_from_a_file_object(valid_xlsx):
    excel_validate_upload(valid_xlsx)
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
    assert "Excel 통합 문서(.xlsx)" in error.message


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


def test_an_xls_file_gets_the_save_as_xlsx_message():
    error = refusal(io.BytesIO(ole_container("Workbook")), filename="명단.xls")
    assert error.code == "EXCEL_XLS_UNSUPPORTED"
    assert error.message == (
        "엑셀 97-2003(.xls) 형식은 지원하지 않습니다. 엑셀에서 '다른 이름으로 저장' → "
        "'Excel 통합 문서(.xlsx)'로 저장한 뒤 다시 올려 주세요."
    )
    assert error.message == MSG_XLS


def test_a_password_protected_workbook_is_refused_as_encrypted():
    error = refusal(io.BytesIO(ole_container("EncryptionInfo", "EncryptedPackage")), filename="명단.xlsx")
    assert error.code == "EXCEL_ENCRYPTED"
    assert "암호" in error.message


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949"])
def test_a_csv_is_refused_with_instructions(encoding):
    data = "이름,학부모 전화번호\n홍길동,010-1234-5678\n".encode(encoding)
    error = refusal(io.BytesIO(data), filename="roster.txt")
    assert error.code == "EXCEL_CSV_UNSUPPORTED"
    assert "CSV" in error.message and ".xlsx" in error.message


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


def test_a_utf16_text_export_is_refused_as_csv():
    data = "이름\t학부모 전화번호\n홍길동\t010-1234-5678\n".encode("utf-16")
    assert refusal(io.BytesIO(data), filename="명단").code == "EXCEL_CSV_UNSUPPORTED"


def test_a_django_upload_is_checked_in_place(valid_xlsx):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("명단.xlsx", valid_xlsx.read_bytes())
    excel_validate_upload(upload)
    assert upload.tell() == 0
    csv = SimpleUploadedFile("명단.csv", "이름,학부모 전화번호\n".encode("cp949"))
    assert refusal(csv).code == "EXCEL_CSV_UNSUPPORTED"
