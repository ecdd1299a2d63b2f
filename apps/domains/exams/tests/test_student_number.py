"""The identifier block by each tenant source: which 8 digits a student writes, and a STUDENT_NUMBER sheet graded to
the right sibling where a parent's phone could only send it to review."""

import pytest

from apps.domains.exams import handlers
from apps.domains.exams.models import ExamSettings, IdentifierSource
from apps.domains.exams.selectors import student_identifier

from .conftest import ANSWER_KEY, PARENT_PHONES
from .scanning import filled_sheet, png
from .test_handlers import Ctx, sheets, submit


@pytest.mark.parametrize(("source", "fields", "expected"), [
    (IdentifierSource.PARENT_PHONE, {"parent_phone": "01012345678"}, "12345678"),
    (IdentifierSource.STUDENT_PHONE, {"phone": "01087654321"}, "87654321"),
    (IdentifierSource.STUDENT_PHONE, {"phone": ""}, None),
    (IdentifierSource.STUDENT_NUMBER, {"student_number": "00000042"}, "00000042"),
    (IdentifierSource.STUDENT_NUMBER, {"student_number": ""}, None),
])
def test_student_identifier_by_source(tenant, make_student, source, fields, expected):
    student = make_student(tenant, **{"parent_phone": "01011112222", "phone": "01033334444",
                                      "student_number": "20250001", **fields})

    assert student_identifier(student=student, source=source) == expected


def test_with_student_numbers_a_sibling_sharing_a_parent_phone_is_graded_not_sent_to_review(
        scan_class, make_student, make_enrollment, local_storage, fake_queues):
    tenant = scan_class["exam"].tenant
    ExamSettings.objects.create(tenant=tenant, identifier_source=IdentifierSource.STUDENT_NUMBER)
    park = scan_class["students"]["park"]
    park.student_number = "20250003"
    park.save(update_fields=["student_number"])
    sibling = make_student(tenant, name="park2", parent_phone=PARENT_PHONES["park"], student_number="20250004")
    make_enrollment(scan_class["lecture"], sibling)
    right = dict(enumerate(ANSWER_KEY, start=1))
    scan, job = submit(scan_class,
                       ("a.png", png(filled_sheet(scan_class["exam"], identifier="20250004", answers=right, seed=1))),
                       ("b.png", png(filled_sheet(scan_class["exam"], identifier="20250003", answers=right, seed=2))),
                       ("c.png", png(filled_sheet(scan_class["exam"], identifier=PARENT_PHONES["kim"][-8:],
                                                  answers=right, seed=3))))

    handlers.omr_grading(job, Ctx())

    assert handlers._identifier_map(scan_class["exam"]) == {"20250003": [park], "20250004": [sibling]}
    got = [(s.status, s.review_reasons, s.student_id, s.identifier) for s in sheets(scan)]
    assert got == [("GRADED", [], sibling.id, "20250004"), ("GRADED", [], park.id, "20250003"),
                   # Kim has no number: a sheet bearing the parent's phone belongs to nobody under this setting.
                   ("REVIEW", ["UNKNOWN_STUDENT"], None, PARENT_PHONES["kim"][-8:])]
