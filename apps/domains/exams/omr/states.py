"""The vocabulary of an OMR page reading (ARCHITECTURE §4 Exams and OMR): mark states, page statuses, reasons.

Pure, no OpenCV: the API's review and results code names these without importing the grader (grading.py), which
only workers need.
"""

from enum import StrEnum


class MarkState(StrEnum):
    ONE = "ONE"
    BLANK = "BLANK"
    MULTIPLE = "MULTIPLE"
    UNCERTAIN = "UNCERTAIN"


class PageStatus(StrEnum):
    READ = "READ"
    UNREADABLE = "UNREADABLE"


# Review reasons a page reading can carry (scoring.py adds the student ones).
REASON_LOW_ALIGNMENT = "LOW_ALIGNMENT"
REASON_LOW_IMAGE_QUALITY = "LOW_IMAGE_QUALITY"
REASON_AMBIGUOUS_MARK = "AMBIGUOUS_MARK"
REASON_ID_DIGIT_BLANK = "ID_DIGIT_BLANK"
REASON_ID_DIGIT_MULTIPLE = "ID_DIGIT_MULTIPLE"
REASON_ID_DIGIT_UNCERTAIN = "ID_DIGIT_UNCERTAIN"

# Why a page is unreadable.
UNREADABLE_EMPTY_IMAGE = "EMPTY_IMAGE"
UNREADABLE_NO_MARKERS = "MARKERS_NOT_FOUND"
UNREADABLE_IMAGE_ERROR = "IMAGE_ERROR"
