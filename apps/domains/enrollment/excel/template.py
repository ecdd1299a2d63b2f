"""The roster template admins download (ARCHITECTURE §4 Excel enrollment): the headers the parser recognises."""

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

TEMPLATE_HEADERS = ("이름", "학부모 전화번호", "학생 전화번호", "학교", "학년", "성별", "생년월일", "메모")
# The parser skips this exact row (EXAMPLE_ROW), so an admin who forgets to delete it enrolls no phantom student.
TEMPLATE_EXAMPLE = ("홍길동", "010-0000-0000", "", "서울중학교", "중2", "남", "2012-03-05",
                    "예시 행입니다. 지우고 입력하세요.")
TEMPLATE_EXAMPLE_KEY = ("홍길동", "01000000000")
TEMPLATE_ROWS = 1000
GRADE_CHOICES = ("초1", "초2", "초3", "초4", "초5", "초6", "중1", "중2", "중3", "고1", "고2", "고3")
GENDER_CHOICES = ("남", "여")
_PHONE_COLUMNS = ("B", "C")
_WIDTHS = {"A": 12, "B": 18, "C": 18, "D": 18, "E": 8, "F": 8, "G": 12, "H": 30}


def build_enrollment_template() -> bytes:
    """An xlsx with the Korean headers, one example row, phone columns as text and lists for 학년 and 성별."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "학생 명단"
    sheet.append(TEMPLATE_HEADERS)
    sheet.append(TEMPLATE_EXAMPLE)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
    # Text format keeps the leading 0 of phone numbers typed into the sheet.
    for column in _PHONE_COLUMNS:
        for row in range(2, TEMPLATE_ROWS + 2):
            sheet[f"{column}{row}"].number_format = "@"
    for column, width in _WIDTHS.items():
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"

    grade = DataValidation(type="list", formula1=f'"{",".join(GRADE_CHOICES)}"', allow_blank=True)
    grade.error = "학년은 목록에서 고르거나 '중2'처럼 입력해 주세요."
    grade.errorStyle = "warning"
    gender = DataValidation(type="list", formula1=f'"{",".join(GENDER_CHOICES)}"', allow_blank=True)
    gender.error = "성별은 '남' 또는 '여'로 입력해 주세요."
    for validation, column in ((grade, "E"), (gender, "F")):
        validation.showErrorMessage = True
        sheet.add_data_validation(validation)
        validation.add(f"{column}2:{column}{TEMPLATE_ROWS + 1}")

    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
