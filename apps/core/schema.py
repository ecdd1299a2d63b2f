"""What the OpenAPI schema (drf-spectacular) says about every operation, stated once instead of per view.

Hooked in SPECTACULAR_SETTINGS POSTPROCESSING_HOOKS: every operation documents the one error shape of
apps.core.exceptions for the errors any view can answer, every integer path id states its range, and an event
stream documents its events.
"""

from apps.core.fields import PG_BIGINT_MAX

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "모든 오류 응답의 형태 (apps.core.exceptions).",
    "properties": {
        "code": {"type": "string", "description": "안정적인 대문자 오류 코드 (예: VALIDATION_ERROR, NOT_FOUND)."},
        "message": {"type": "string", "description": "사람이 읽는 한국어 설명."},
        "details": {"description": "오류의 세부 내용: 입력 오류는 필드별 메시지, 그 밖에는 코드별 값 (없으면 {})."},
    },
    "required": ["code", "message", "details"],
}

# Status → description, for errors any operation may answer whatever its view.
ANY_OPERATION_ERRORS = {
    "400": "입력값 오류 (VALIDATION_ERROR, PARSE_ERROR 또는 도메인 오류 코드)",
    "401": "인증 필요 또는 실패 (AUTHENTICATION_REQUIRED, AUTHENTICATION_FAILED)",
    "403": "권한 없음 (PERMISSION_DENIED 등)",
    "404": "대상 없음 (NOT_FOUND 등): 다른 학원의 id도 404",
    "409": "현재 상태에서 처리할 수 없음 (CONFLICT 등)",
    "500": "서버 오류 (SERVER_ERROR)",
    "503": "일시적으로 처리할 수 없음 (SERVICE_UNAVAILABLE 등)",
}
BODY_ERRORS = {
    "413": "요청 본문이 너무 큼 (PAYLOAD_TOO_LARGE)",
    "415": "지원하지 않는 요청 형식 (UNSUPPORTED_MEDIA_TYPE)",
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def _error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}}}


def _bound_integer_path_ids(operation: dict) -> None:
    # <int:...> converters take digits only; an id past bigint finds no row (404).
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "path" and schema.get("type") == "integer":
            schema.setdefault("minimum", 1)
            schema.setdefault("maximum", PG_BIGINT_MAX)


# One Server-Sent Event as schemathesis reads a text/event-stream body (OpenAPI 3.2 calls it itemSchema).
SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"},
                   "retry": {"type": "integer"}},
}


def _describe_event_streams(operation: dict) -> None:
    for response in operation.get("responses", {}).values():
        stream = response.get("content", {}).get("text/event-stream")
        if stream is not None and stream.get("schema", {}).get("type") == "string":
            stream["schema"] = SSE_EVENT_SCHEMA


def document_errors(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            errors = {**ANY_OPERATION_ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, _error_response(description))
            for status, response in responses.items():
                # A view may name its own error codes with a bare OpenApiResponse(description=...): the body is
                # still the one error shape.
                if status[0] in "45" and not response.get("content"):
                    response["content"] = _error_response("")["content"]
            _bound_integer_path_ids(operation)
            _describe_event_streams(operation)
    return result
