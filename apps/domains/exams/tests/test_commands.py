import json

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from apps.domains.exams.models import ExamSettings
from apps.domains.exams.omr.layout import sheet_layout


def test_make_sample_scans_writes_a_filled_sheet_per_student(tmp_path, tenant, make_lecture, make_student,
                                                            make_enrollment, make_exam):
    lecture = make_lecture(tenant)
    first = make_student(tenant, parent_phone="01012345678", phone="01099998888")
    second = make_student(tenant, parent_phone="01087654321")
    dropped = make_student(tenant, parent_phone="01011112222")
    make_enrollment(lecture, first)
    make_enrollment(lecture, second)
    make_enrollment(lecture, dropped, status="DROPPED")
    exam = make_exam(lecture, question_count=10, answer_key=[1, 2, 3, 4, 5, 1, 2, 3, 4, 5])

    call_command("make_sample_scans", exam.id, "--out", str(tmp_path), "--count", "3", "--dpi", "100", "--photo")

    truth = json.loads((tmp_path / "truth.json").read_text())
    layout = sheet_layout(10, 5)
    sheets = truth["sheets"]
    assert [(s["student_id"], s["identifier"]) for s in sheets] == [
        (first.id, "12345678"), (second.id, "87654321"), (None, "90000002")]
    assert all(len(s["answers"]) == 10 for s in sheets)
    for sheet in sheets:
        assert [f["kind"] for f in sheet["files"]] == ["scan", "photo"]
        scan = cv2.imdecode(np.frombuffer((tmp_path / sheet["files"][0]["file"]).read_bytes(), np.uint8), 0)
        assert abs(scan.shape[0] - 1169) <= 1 and abs(scan.shape[1] - 827) <= 1
        for number, choice in sheet["answers"].items():
            for bubble in layout["questions"][int(number) - 1]["choices"]:
                x, y = round(bubble["x"] * 100 / 72), round(bubble["y"] * 100 / 72)
                dark = scan[y - 3:y + 4, x - 3:x + 4].mean() < 170
                assert dark == (bubble["choice"] == choice), (sheet, number, bubble)
        assert (tmp_path / sheet["files"][1]["file"]).read_bytes()[:2] == b"\xff\xd8"  # a JPEG


def test_make_sample_scans_follows_the_identifier_setting(tmp_path, tenant, make_lecture, make_student,
                                                          make_enrollment, make_exam):
    lecture = make_lecture(tenant)
    make_enrollment(lecture, make_student(tenant, parent_phone="01012345678", phone="01055556666"))
    ExamSettings.objects.create(tenant=tenant, identifier_source="STUDENT_PHONE")
    exam = make_exam(lecture)

    call_command("make_sample_scans", exam.id, "--out", str(tmp_path), "--count", "1", "--dpi", "72")

    assert json.loads((tmp_path / "truth.json").read_text())["sheets"][0]["identifier"] == "55556666"


def test_make_sample_scans_refuses_a_missing_exam(db, tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("make_sample_scans", 99999999, "--out", str(tmp_path))
