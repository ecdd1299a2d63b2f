"""Refusals of the Excel flow (ARCHITECTURE §4 Excel enrollment): one stable code and a Korean message each."""

from collections import Counter

from apps.core.exceptions import DomainError, ServiceUnavailableError


class ExcelFileError(DomainError):
    """The uploaded file cannot be read as a roster; nothing was stored or written."""

    default_code = "EXCEL_INVALID_FILE"
    default_message = "엑셀 파일을 읽을 수 없습니다. 엑셀(.xlsx, .xls), ODS(.ods) 또는 CSV 파일인지 확인해 주세요."


class ExcelTooLargeError(ExcelFileError):
    status_code = 413
    default_code = "EXCEL_TOO_LARGE"
    default_message = "엑셀 파일이 너무 큽니다."


# Short names of the per-row skip codes, for the one-line summary of a roster whose every row was skipped.
SKIP_LABELS = {
    "MISSING_NAME": "이름 없음",
    "NAME_TOO_LONG": "이름이 너무 김",
    "MISSING_PARENT_PHONE": "학부모 전화번호 없음",
    "INVALID_PARENT_PHONE": "학부모 전화번호 오류",
    "INVALID_STUDENT_PHONE": "학생 전화번호 오류",
    "INVALID_GRADE": "학년 오류",
    "INVALID_SCHOOL_TYPE": "학교급 오류",
    "INVALID_GENDER": "성별 오류",
    "INVALID_BIRTH_DATE": "생년월일 오류",
    "DUPLICATE_IN_FILE": "파일 안에서 중복",
    "EXAMPLE_ROW": "양식 예시 행",
    "FORMULA_NOT_CALCULATED": "계산되지 않은 수식",
}


class ExcelNoRowsError(DomainError):
    """No row of the roster can be used. The message starts with the default one, which the front end matches;
    when rows were skipped, a summary of why follows it (see `skipped`)."""

    default_code = "EXCEL_NO_ROWS"
    default_message = "등록할 학생 데이터가 없습니다."

    @classmethod
    def skipped(cls, codes: list[str], *, details: dict) -> "ExcelNoRowsError":
        """'등록할 학생 데이터가 없습니다. 20행 모두 건너뛰었습니다: 학부모 전화번호 없음 18행, 학년 오류 2행'."""
        if not codes:
            return cls(details=details)
        counts = Counter(codes)
        reasons = ", ".join(f"{SKIP_LABELS.get(code, code)} {count}행"
                            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return cls(message=f"{cls.default_message} {len(codes)}행 모두 건너뛰었습니다: {reasons}", details=details)


class ExcelFormulasNotCalculatedError(DomainError):
    """The roster's cells are formulas whose results were never stored (a program wrote the file, Excel never
    saved it): read as empty, every row would be skipped."""

    default_code = "EXCEL_FORMULAS_NOT_CALCULATED"
    default_message = (
        "수식의 계산 결과가 저장되지 않은 파일입니다. 엑셀에서 파일을 열어 저장한 뒤(계산 결과가 함께 저장됩니다) "
        "다시 올려 주세요."
    )


class ExcelHeaderError(DomainError):
    default_code = "EXCEL_HEADER_NOT_FOUND"
    default_message = "머리글 행을 찾을 수 없습니다. 첫 20행 안에 '이름'과 '학부모 전화번호' 열이 있어야 합니다."


class ExcelStorageUnavailableError(ServiceUnavailableError):
    """The roster could not be stored (or an export written): nothing was created."""

    default_code = "EXCEL_STORAGE_UNAVAILABLE"
    default_message = "파일 저장소에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."


class ExcelEnqueueFailedError(ServiceUnavailableError):
    """The job exists (QUEUED, file kept) but its message was not sent: the scanner sends it; details carry job_id."""

    default_code = "EXCEL_ENQUEUE_FAILED"
    default_message = "작업 대기열 등록이 지연되고 있습니다. 자동으로 다시 시도되니 잠시 후 진행 상황을 확인해 주세요."
