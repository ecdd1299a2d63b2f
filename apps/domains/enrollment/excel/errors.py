"""Refusals of the Excel flow (ARCHITECTURE §4 Excel enrollment): one stable code and a Korean message each."""

from apps.core.exceptions import DomainError, ServiceUnavailableError


class ExcelFileError(DomainError):
    """The uploaded file cannot be read as a roster; nothing was stored or written."""

    default_code = "EXCEL_INVALID_FILE"
    default_message = "엑셀 파일을 읽을 수 없습니다. 'Excel 통합 문서(.xlsx)' 형식인지 확인해 주세요."


class ExcelTooLargeError(ExcelFileError):
    status_code = 413
    default_code = "EXCEL_TOO_LARGE"
    default_message = "엑셀 파일이 너무 큽니다."


class ExcelNoRowsError(DomainError):
    """No row of the roster can be used. The front end matches this exact message."""

    default_code = "EXCEL_NO_ROWS"
    default_message = "등록할 학생 데이터가 없습니다."


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
