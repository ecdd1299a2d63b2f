"""The downloadable template and the formula-safe roster export."""

import zipfile
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from apps.domains.enrollment.excel.export import EXPORT_HEADERS, enrollment_export_roster
from apps.domains.enrollment.excel.parser import parse_roster
from apps.domains.enrollment.excel.template import TEMPLATE_HEADERS, build_enrollment_template
from apps.domains.enrollment.models import Enrollment, EnrollmentStatus


def test_the_template_has_korean_headers_an_example_text_phones_and_lists():
    workbook = load_workbook(BytesIO(build_enrollment_template()))
    sheet = workbook.active
    assert [cell.value for cell in sheet[1]] == list(TEMPLATE_HEADERS) == [
        "이름", "학부모 전화번호", "학생 전화번호", "학교", "학년", "성별", "생년월일", "메모"]
    assert [cell.value for cell in sheet[2]][:2] == ["홍길동", "010-0000-0000"]
    assert sheet.max_row == 2 or all(cell.value is None for cell in sheet[3])
    assert (sheet["B2"].number_format, sheet["C500"].number_format, sheet["A2"].number_format) == ("@", "@", "General")
    lists = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert lists == {"E2:E1001": '"초1,초2,초3,초4,초5,초6,중1,중2,중3,고1,고2,고3"', "F2:F1001": '"남,여"'}


@pytest.fixture
def enrolled(tenant, lecture, make_student):
    def enroll(name, parent_phone, **fields):
        student = make_student(tenant, name, parent_phone, **fields)
        return Enrollment.objects.create(tenant=tenant, lecture=lecture, student=student)

    return enroll


def read_rows(path):
    return list(CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows())


@pytest.mark.django_db
def test_the_roster_export_writes_live_students_of_the_lecture(tenant, lecture, enrolled, make_student, make_lecture,
                                                               tmp_path):
    enrolled("김철수", "01011112222", phone="01055556666", school="대치중학교", school_type="MIDDLE", grade=2,
             gender="M", memo="집중반", birth_date=date(2012, 3, 5))
    enrolled("삭제됨", "01099990000", deleted_at=timezone.now())
    Enrollment.objects.create(tenant=tenant, lecture=make_lecture(tenant, "다른 강의"),
                              student=make_student(tenant, "다른반", "01000001111"))

    path, _ = enrollment_export_roster(tenant=tenant, lecture=lecture, path=tmp_path / "roster.xlsx")

    rows = read_rows(path)
    assert rows[0] == list(EXPORT_HEADERS)
    assert rows[1][:10] == [
        "김철수", "010-1111-2222", "010-5555-6666", "대치중학교", "중등", "중2", "남", date(2012, 3, 5), "집중반",
        "수강중"]
    assert len(rows) == 2


@pytest.mark.django_db
def test_cells_that_look_like_formulas_are_written_as_text(tenant, lecture, enrolled):
    hostile = ['=HYPERLINK("http://evil","클릭")', "+1+2", "-3+4", "@SUM(A1)", "\t=1", "\r=1"]
    for index, text in enumerate(hostile):
        enrolled(text, f"0100000000{index}", memo=text)

    path, _ = enrollment_export_roster(tenant=tenant, lecture=lecture)

    sheet_xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    rows = read_rows(path)[1:]
    # XML itself turns a carriage return into a line feed; the text is otherwise kept as typed.
    assert {row[0] for row in rows} == {row[8] for row in rows} == {text.replace("\r", "\n") for text in hostile}
    sheet = load_workbook(path).active
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, len(hostile) + 2))
    path.unlink()


@pytest.mark.django_db
def test_status_filter_and_streaming_of_many_rows(tenant, lecture, make_student, tmp_path):
    from apps.domains.students.models import Student

    Student.objects.bulk_create([Student(tenant=tenant, name=f"학생{i:04d}", parent_phone=f"010{i:08d}")
                                 for i in range(4500)])
    students = list(Student.objects.filter(tenant=tenant).order_by("id"))
    Enrollment.objects.bulk_create([
        Enrollment(tenant=tenant, lecture=lecture, student=s,
                   status=EnrollmentStatus.DROPPED if i % 3 == 0 else EnrollmentStatus.ACTIVE)
        for i, s in enumerate(students)
    ])

    path, _ = enrollment_export_roster(tenant=tenant, lecture=lecture, path=tmp_path / "a.xlsx",
                                       statuses=[EnrollmentStatus.ACTIVE])

    rows = read_rows(path)
    assert len(rows) == 1 + 3000
    assert {row[9] for row in rows[1:]} == {"수강중"}
    assert [row[0] for row in rows[1:4]] == ["학생0001", "학생0002", "학생0004"]


@pytest.mark.django_db
@time_machine.travel(datetime(2027, 1, 10, 3, tzinfo=UTC), tick=False)
def test_an_upcoming_grade_is_exported_as_예비_and_read_back_as_upcoming(tenant, lecture, enrolled, tmp_path):
    enrolled("김철수", "01011112222", school_type="HIGH", grade=2, grade_starts_on=date(2027, 3, 1))
    enrolled("이영희", "01033334444", grade=3)

    path, _ = enrollment_export_roster(tenant=tenant, lecture=lecture, path=tmp_path / "roster.xlsx")

    assert [row[5] for row in read_rows(path)[1:]] == ["예비 고2", "3학년"]
    assert [(row.school_type, row.grade, row.grade_upcoming) for row in parse_roster(path).rows] == [
        ("HIGH", 2, True), ("", 3, False)]
