"""ARCHITECTURE §4 Messaging, delivery reports pushed by Solapi: POST /api/v1/messaging/webhooks/solapi/<secret>/.

The secret in the path (MESSAGING_WEBHOOK_SECRET, compared in constant time) is the only credential: Solapi signs
nothing we could check. A blank setting turns the webhook off. The body is Solapi's message report — a JSON list of
message objects (`messageId`, `statusCode`, `statusMessage`/`reason`, `customFields.recipientId` = our id), also
accepted wrapped as {"messageList": [...] or {...}} or as one object. Every input is hostile: a body of another shape
is 400, an item we cannot read or an id we never gave is ignored, a repeated report changes nothing. No provider call
happens here, so the answer is quick (Solapi retries a slow or failed delivery).
"""

import hmac
import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import DomainError, NotFoundError
from apps.domains.messaging import delivery
from apps.integrations import message_rules as codes
from apps.integrations.messaging import DeliveryReport

logger = logging.getLogger(__name__)

MAX_REPORTS = 10_000
RECIPIENT_FIELD = "recipientId"


class WebhookPayloadInvalidError(DomainError):
    default_code = "WEBHOOK_PAYLOAD_INVALID"
    default_message = "발송 결과 형식이 올바르지 않습니다."


def _state(code: str) -> str:
    if code == codes.DELIVERED:
        return "DELIVERED"
    if code in (codes.ACCEPTED, "3000"):
        return "SENT"
    return "FAILED"


def _items(body: object) -> list:
    if isinstance(body, list):
        items = body
    elif isinstance(body, dict) and isinstance(body.get("messageList"), (list, dict)):
        items = body["messageList"]
        items = list(items.values()) if isinstance(items, dict) else items
    elif isinstance(body, dict) and "messageId" in body:
        items = [body]
    else:
        raise WebhookPayloadInvalidError(details={"reason": "a list of message reports is expected"})
    if len(items) > MAX_REPORTS:
        raise WebhookPayloadInvalidError(details={"reason": f"at most {MAX_REPORTS} reports per call"})
    return items


def solapi_reports_parse(body: object) -> tuple[list[DeliveryReport], int]:
    """(the readable reports, how many items were unreadable)."""
    reports, unreadable = [], 0
    for item in _items(body):
        fields = item.get("customFields") if isinstance(item, dict) else None
        recipient_id = fields.get(RECIPIENT_FIELD) if isinstance(fields, dict) else None
        code = item.get("statusCode") if isinstance(item, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
        if not isinstance(recipient_id, str) or not isinstance(code, str) or not code.strip():
            unreadable += 1
            continue
        code = delivery.clip(code.strip(), 10)
        message_id = item.get("messageId")
        reason = item.get("reason") or item.get("statusMessage")
        reports.append(DeliveryReport(
            recipient_id=recipient_id, provider_message_id=message_id if isinstance(message_id, str) else "",
            state=_state(code), code=code, reason=reason if isinstance(reason, str) else ""))
    return reports, unreadable


@extend_schema(
    tags=["문자"], summary="문자 발송 결과 수신 (Solapi 웹훅)",
    description=(
        "Solapi가 메시지의 발송 결과(전달 완료, 실패)를 알려 주는 웹훅입니다. 로그인 없이 호출되며 주소의 "
        "`secret`이 서버 설정 `MESSAGING_WEBHOOK_SECRET`과 같아야 합니다. 설정이 비어 있거나 값이 다르면 `404`"
        "입니다. 본문은 메시지 결과 객체의 목록(`messageId`, `statusCode`, `customFields.recipientId`)이며, 모르는 "
        "메시지와 읽을 수 없는 항목은 무시하고, 같은 결과를 다시 받아도 아무것도 바뀌지 않습니다. 형식이 다른 "
        "본문은 `400` `WEBHOOK_PAYLOAD_INVALID`입니다."),
    request=inline_serializer("SolapiMessageReport", {
        "messageId": serializers.CharField(required=False),
        "statusCode": serializers.CharField(),
        "statusMessage": serializers.CharField(required=False),
        "customFields": inline_serializer("SolapiMessageReportCustomFields", {
            "recipientId": serializers.CharField()}),
    }, many=True),
    responses={
        200: inline_serializer("MessagingWebhookOutput", {
            "received": serializers.IntegerField(), "applied": serializers.IntegerField(),
            "ignored": serializers.IntegerField()}),
        400: OpenApiResponse(description="본문 형식 오류 (`WEBHOOK_PAYLOAD_INVALID`, `PARSE_ERROR`)"),
        404: OpenApiResponse(description="웹훅이 꺼져 있거나 주소가 틀림 (`NOT_FOUND`)"),
        415: OpenApiResponse(description="JSON이 아닌 본문 (`UNSUPPORTED_MEDIA_TYPE`)"),
    },
)
class SolapiWebhookApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request, secret: str):
        expected = settings.MESSAGING_WEBHOOK_SECRET
        if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
            raise NotFoundError()
        reports, unreadable = solapi_reports_parse(request.data)
        summary = delivery.reports_apply(reports)
        applied = summary.changed
        logger.info("messaging_webhook_received", extra={"received": summary.received + unreadable,
                                                        "applied": applied, "summary": summary.as_dict()})
        return Response({"received": summary.received + unreadable, "applied": applied,
                         "ignored": summary.ignored + unreadable})
