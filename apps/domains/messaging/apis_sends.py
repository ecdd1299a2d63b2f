"""Sends HTTP API (ARCHITECTURE §4 Messaging): preview, create, list, inspect and cancel a send. Staff of any role;
a phone is only ever shown masked."""

import django_filters
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.exceptions import ConflictError
from apps.core.fields import PG_BIGINT_MAX, IdField, JsonObjectField
from apps.core.filters import FilterSet
from apps.core.logging import mask_phone
from apps.core.permissions import IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.enrollment.models import AttendanceStatus
from apps.domains.messaging import notices, selectors, sending
from apps.domains.messaging.models import (
    MessageRecipient,
    MessageSend,
    MessageType,
    RecipientStatus,
    SendAudience,
    SendMode,
    SendPurpose,
    SendStatus,
)

# A send lists at most this many students by id (a lecture or a session has no such limit).
MAX_STUDENT_IDS = 20_000
MAX_VALUE_CHARS = 1000
MAX_VARIABLES_PER_STUDENT = 50
# A preview shows this many rows; the counts and the cost are over all of them.
PREVIEW_ROWS = 1000
TAG = "문자"
STAFF = "원장, 관리자, 강사, 직원이 호출할 수 있습니다."


@extend_schema_field({
    "type": "object",
    "description": "학생 id(문자열) → 그 학생의 추가 변수 {변수 이름: 값(글자 또는 숫자)}",
    "additionalProperties": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"},
                                                                                  {"type": "number"}]}},
})
class StudentValuesField(JsonObjectField):
    """{"7": {"점수": 95}} → {7: {"점수": 95}}: keys are student ids, values are text or numbers."""

    default_error_messages = {
        **JsonObjectField.default_error_messages,
        "bad_key": "키는 학생 id(양의 정수)여야 합니다: {given}",
        "bad_values": "학생 {given}의 값은 {{변수 이름: 글자 또는 숫자}} 객체여야 합니다.",
        "too_many": "학생은 최대 {max:,}명까지 값을 줄 수 있습니다.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > MAX_STUDENT_IDS:
            self.fail("too_many", max=MAX_STUDENT_IDS)
        result = {}
        for key, variables in value.items():
            if not (isinstance(key, str) and key.isascii() and key.isdigit() and 1 <= int(key) <= PG_BIGINT_MAX):
                self.fail("bad_key", given=str(key)[:30])
            if not (isinstance(variables, dict) and len(variables) <= MAX_VARIABLES_PER_STUDENT
                    and all(isinstance(name, str) and 0 < len(name) <= 100 for name in variables)
                    and all(_scalar(item) for item in variables.values())):
                self.fail("bad_values", given=key)
            result[int(key)] = variables
        return result


def _scalar(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return len(value) <= MAX_VALUE_CHARS
    if isinstance(value, int):
        return abs(value) < 10**30
    if isinstance(value, float):
        return value == value and abs(value) < 1e30
    return False


class SendInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=SendAudience.choices, default=SendAudience.PARENT,
                                 help_text="받는 사람: student(학생 본인), parent(학부모), both(둘 다)")
    mode = serializers.ChoiceField(choices=SendMode.choices, default=SendMode.SMS)
    purpose = serializers.ChoiceField(choices=SendPurpose.choices, default=SendPurpose.INFO)
    template_id = IdField(required=False, allow_null=True)
    body = serializers.CharField(max_length=5000, required=False, allow_blank=True, trim_whitespace=False)
    subject = serializers.CharField(max_length=40, required=False, allow_blank=True)
    send_at = serializers.DateTimeField(required=False, allow_null=True,
                                        help_text="예약 시각 (30일 이내); 비우면 바로 보냅니다.")
    student_ids = serializers.ListField(child=IdField(), required=False, allow_null=True, min_length=1,
                                        max_length=MAX_STUDENT_IDS)
    lecture_id = IdField(required=False, allow_null=True)
    session_id = IdField(required=False, allow_null=True)
    attendance = serializers.ListField(child=serializers.ChoiceField(choices=AttendanceStatus.choices),
                                       required=False, allow_null=True, min_length=1, max_length=5,
                                       help_text="session_id와 함께: 이 출결 상태의 학생만 (예: ABSENT, LATE)")
    values = StudentValuesField(required=False)

    def spec(self) -> sending.SendSpec:
        data = dict(self.validated_data)
        data["audience"] = data.pop("to")
        return sending.SendSpec(**data)


class SkippedSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    role = serializers.CharField(allow_null=True)
    code = serializers.CharField()


class SendCreatedSerializer(serializers.Serializer):
    send_id = serializers.IntegerField(source="id")
    job_id = serializers.UUIDField(allow_null=True)
    recipient_count = serializers.IntegerField()
    skipped = SkippedSerializer(many=True)
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.ChoiceField(choices=SendStatus.choices)
    send_at = serializers.DateTimeField(allow_null=True)


class SendOutputSerializer(serializers.ModelSerializer):
    to = serializers.CharField(source="audience")
    skipped_count = serializers.SerializerMethodField()
    created_by_name = serializers.SerializerMethodField()
    selection = JsonObjectField()

    class Meta:
        model = MessageSend
        fields = ["id", "status", "purpose", "mode", "to", "template_id", "subject", "body", "selection", "send_at",
                  "recipient_count", "skipped_count", "estimated_cost", "trigger", "trigger_key", "job_id",
                  "created_by_id", "created_by_name", "created_at", "finished_at", "cancelled_at"]

    def get_skipped_count(self, send) -> int:
        return len(send.skipped or [])

    def get_created_by_name(self, send) -> str | None:
        user = send.created_by
        return (user.get_full_name() or user.username) if user else None


class SendDetailSerializer(SendOutputSerializer):
    skipped = SkippedSerializer(many=True)
    status_counts = serializers.SerializerMethodField()
    charged_total = serializers.SerializerMethodField()

    class Meta(SendOutputSerializer.Meta):
        fields = [*SendOutputSerializer.Meta.fields, "skipped", "status_counts", "charged_total"]

    @extend_schema_field(inline_serializer("SendStatusCounts", fields={
        name: serializers.IntegerField() for name in RecipientStatus.values}))
    def get_status_counts(self, send) -> dict:
        return self.context["counts"]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_charged_total(self, send) -> str:
        return serializers.DecimalField(max_digits=12, decimal_places=2).to_representation(
            self.context["charged_total"])


class RecipientOutputSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="masked_phone", help_text="가린 번호 (010****5678)")
    student_name = serializers.CharField(source="student.name", default=None, allow_null=True)
    text = serializers.SerializerMethodField(help_text="보낸 본문 (일회용 인증 코드가 담긴 문자는 가림)")

    class Meta:
        model = MessageRecipient
        fields = ["id", "uid", "student_id", "student_name", "role", "phone", "text", "subject", "type",
                  "fallback_type", "sent_type", "status", "provider_message_id", "not_before", "reserved_amount",
                  "charged_amount", "provider_code", "reason", "sending_at", "sent_at", "delivered_at", "updated_at"]

    def get_text(self, recipient) -> str:
        # A text carrying a one-time code is the recipient's alone: staff see that it went, not the code.
        if self.context.get("hide_text"):
            return notices.HIDDEN_CODE_TEXT
        return recipient.text


class PreviewRowSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    role = serializers.CharField()
    phone = serializers.CharField(help_text="가린 번호 (010****5678)")
    text = serializers.CharField(help_text="실제로 나갈 본문 (광고 표시와 수신거부 문구 포함)")
    subject = serializers.CharField()
    type = serializers.ChoiceField(choices=MessageType.choices)
    fallback_type = serializers.CharField()
    bytes = serializers.IntegerField(help_text="EUC-KR 바이트 수")
    not_before = serializers.DateTimeField(allow_null=True, help_text="야간 광고나 방해 금지 시간으로 미뤄진 시각")
    reserved_amount = serializers.DecimalField(max_digits=9, decimal_places=2)
    unsupported = inline_serializer("UnsupportedCharacterAt", many=True, fields={
        "index": serializers.IntegerField(), "char": serializers.CharField(), "codepoint": serializers.CharField()})


class PreviewSerializer(serializers.Serializer):
    recipient_count = serializers.IntegerField()
    recipients = PreviewRowSerializer(many=True, help_text=f"받는 사람 (앞에서부터 최대 {PREVIEW_ROWS:,}명)")
    skipped = SkippedSerializer(many=True)
    type_counts = inline_serializer("SendTypeCounts", fields={
        name: serializers.IntegerField(required=False) for name in MessageType.values})
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    unsupported_characters = inline_serializer("PreviewUnsupportedCharacter", many=True, fields={
        "char": serializers.CharField(), "codepoint": serializers.CharField()})
    sender_verified = serializers.BooleanField()
    credit_balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    credit_sufficient = serializers.BooleanField()
    send_at = serializers.DateTimeField(allow_null=True)


class SendFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=SendStatus.choices)
    trigger = django_filters.CharFilter(max_length=30)

    class Meta:
        model = MessageSend
        fields = ["status", "trigger"]


class RecipientFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=RecipientStatus.choices)

    class Meta:
        model = MessageRecipient
        fields = ["status"]


_SEND_ERRORS = (
    "`SEND_SELECTION_INVALID`(student_ids, lecture_id, session_id 중 정확히 하나), `SEND_TEXT_INVALID`(템플릿과 "
    "본문을 함께 보냄), `MESSAGE_EMPTY`, `SEND_AT_INVALID`(지난 시각 또는 30일 뒤), `ATTENDANCE_FILTER_INVALID`, "
    "`TEMPLATE_VARIABLES_MISSING`(details: 빠진 변수와 학생), `TEMPLATE_VALUE_INVALID`, `MESSAGE_TOO_LONG`, "
    "`SUBJECT_TOO_LONG`, `ALIMTALK_AD_NOT_ALLOWED`, `OPT_OUT_NUMBER_REQUIRED`, `ALIMTALK_TEMPLATE_NOT_APPROVED`, "
    "`KAKAO_CHANNEL_REQUIRED`, `NO_SENDING_WINDOW`")
_NOT_FOUND = "`STUDENT_NOT_FOUND`, `LECTURE_NOT_FOUND`, `SESSION_NOT_FOUND`, `TEMPLATE_NOT_FOUND` (다른 학원의 id도)"
_SKIPS = ("건너뛴 사람은 `skipped`에 사유 코드와 함께 나옵니다: `NO_PHONE`(번호 없음), `INVALID_PHONE`(휴대폰 번호가 "
          "아님), `OPTED_OUT`(수신거부), `NO_AD_CONSENT`(유효한 광고 수신 동의 없음), `DUPLICATE`(같은 번호에 같은 "
          "내용), `STUDENT_DELETED`(삭제된 학생).")


class SendListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = SendOutputSerializer
    filterset_class = SendFilter

    def get_tenant_queryset(self, tenant):
        return MessageSend.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")

    @extend_schema(
        tags=[TAG], summary="문자 발송 목록",
        description=f"학원의 발송을 최근 것부터 쪽 단위로 돌려줍니다. `status`, `trigger`(manual, absence 등)로 "
                    f"거릅니다. {STAFF}",
        responses=SendOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SendOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG], summary="문자 보내기",
        description="학생(`student_ids`), 강의(`lecture_id`: 수강 중인 학생) 또는 수업(`session_id`, `attendance`로 "
                    "출결 상태를 거름) 중 하나로 받는 학생을 정하고, `to`로 학생 본인, 학부모 또는 둘 다에게 "
                    "보냅니다. 본문은 템플릿(`template_id`)이나 직접 쓴 `body`이며 `#{학생이름}`, `#{학원명}`, "
                    "`#{강의명}`, `#{날짜}`는 채워지고 그 밖의 변수는 `values`로 학생마다 줍니다. 90바이트(EUC-KR)"
                    "까지 SMS, 2,000바이트까지 LMS입니다. 광고(`purpose=ad`)는 (광고) 표시와 080 수신거부 문구가 "
                    "붙고 광고 수신에 동의한 사람에게만 가며, 야간(21시~8시) 동의가 없으면 8시까지, 방해 금지 "
                    "시간에는 그 시간이 끝날 때까지 미뤄집니다. 예상 비용만큼 크레딧을 예약하고 발송 작업을 만들어 "
                    f"`202`로 답합니다. {_SKIPS} {STAFF}",
        request=SendInputSerializer,
        responses={202: SendCreatedSerializer,
                   400: OpenApiResponse(description=f"{_SEND_ERRORS}, `UNSUPPORTED_CHARACTERS`(이모지 등, details에 "
                                                    "위치), `NO_RECIPIENTS`(details.skipped)"),
                   402: OpenApiResponse(description="크레딧 부족 (`INSUFFICIENT_CREDIT`)"),
                   404: OpenApiResponse(description=_NOT_FOUND),
                   409: OpenApiResponse(description="승인된 발신번호가 없음 (`SENDER_NOT_APPROVED`)")})
    def post(self, request):
        serializer = SendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        send = sending.send_create(tenant=self.tenant, spec=serializer.spec(), by=request.user)
        return Response(SendCreatedSerializer(send).data, status=status.HTTP_202_ACCEPTED)


class SendPreviewApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = PreviewSerializer

    def get_tenant_queryset(self, tenant):
        return MessageSend.objects.filter(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="문자 미리보기",
        description="문자 보내기와 같은 입력으로, 아무것도 저장하거나 보내지 않고 받는 사람마다 실제로 나갈 본문"
                    "(광고 표시와 수신거부 문구 포함), 가린 번호, 종류(SMS/LMS/알림톡), 바이트 수, 미뤄지는 시각과 "
                    "예상 비용, 종류별 건수를 돌려줍니다. 문자로 보낼 수 없는 글자(이모지 등)는 거절하지 않고 "
                    f"위치와 함께 알려 줍니다. 받는 사람은 앞에서부터 {PREVIEW_ROWS:,}명까지 나옵니다. 발신번호 "
                    f"승인 여부와 크레딧이 충분한지도 알려 줍니다. {_SKIPS} {STAFF}",
        request=SendInputSerializer,
        responses={200: PreviewSerializer, 400: OpenApiResponse(description=_SEND_ERRORS),
                   404: OpenApiResponse(description=_NOT_FOUND)})
    def post(self, request):
        serializer = SendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = sending.send_preview(tenant=self.tenant, spec=serializer.spec(), max_rows=PREVIEW_ROWS)
        return Response(PreviewSerializer(preview).data)


class SendDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = SendDetailSerializer

    def get_tenant_queryset(self, tenant):
        return MessageSend.objects.filter(tenant=tenant).select_related("created_by")

    @extend_schema(
        tags=[TAG], summary="문자 발송 조회",
        description="발송 하나와 건너뛴 사람, 받는 사람의 상태별 수, 지금까지 차감된 금액을 돌려줍니다. 다른 학원의 "
                    f"발송은 `404`입니다. {STAFF}",
        responses=SendDetailSerializer)
    def get(self, request, pk):
        send = self.get_object()
        rows = MessageRecipient.objects.filter(send=send)
        counts = {name: 0 for name in RecipientStatus.values}
        for row in rows.values("status").annotate(n=Count("id")).order_by():
            counts[row["status"]] = row["n"]
        charged = rows.aggregate(total=Sum("charged_amount", filter=Q(charged_amount__isnull=False)))["total"]
        context = {"counts": counts, "charged_total": charged or 0}
        return Response(SendDetailSerializer(send, context=context).data)


class SendRecipientListApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = RecipientOutputSerializer
    filterset_class = RecipientFilter

    def get_tenant_queryset(self, tenant):
        return MessageRecipient.objects.filter(tenant=tenant, send_id=self.kwargs.get("pk")).select_related(
            "student").order_by("id")

    @extend_schema(
        tags=[TAG], summary="문자 발송의 받는 사람 목록",
        description="발송의 받는 사람을 쪽 단위로 돌려줍니다: 가린 번호, 종류와 실제로 보낸 종류, 상태, 문자 "
                    "서비스의 결과 코드와 한국어 사유, 차감 금액과 시각. `status`로 거릅니다. 다른 학원의 발송은 "
                    f"`404`입니다. {STAFF}",
        responses=RecipientOutputSerializer(many=True))
    def get(self, request, pk):
        send = get_object_or_404(MessageSend.objects.filter(tenant=self.tenant), pk=pk)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {"hide_text": send.trigger in notices.CODE_TRIGGERS}
        return self.get_paginated_response(RecipientOutputSerializer(page, many=True, context=context).data)


class OutboxMessageOutputSerializer(serializers.Serializer):
    recipient_id = serializers.CharField(help_text="받는 사람의 uid (알림톡 대신 간 문자는 끝에 `-sms`)")
    type = serializers.CharField()
    to = serializers.SerializerMethodField(help_text="가린 번호 (010****5678)")
    subject = serializers.CharField()
    text = serializers.CharField(help_text="문자 서비스에 넘긴 그대로의 본문")
    kakao = JsonObjectField(allow_null=True, help_text="알림톡이면 pfId, templateId, variables")
    provider_message_id = serializers.CharField()
    status_code = serializers.CharField(help_text="접수 결과: 2000 접수, 그 밖은 거절 사유 코드")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)

    def get_to(self, obj) -> str:
        return mask_phone(obj.to)


class OutboxNotInUseError(ConflictError):
    default_code = "OUTBOX_NOT_IN_USE"
    default_message = "내장 발송함(outbox)을 쓰지 않는 환경입니다. 실제 문자 서비스의 발송 내역을 확인해 주세요."


class SendOutboxApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = OutboxMessageOutputSerializer

    def get_tenant_queryset(self, tenant):
        return MessageSend.objects.filter(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="내장 발송함에 쌓인 문자 (개발·체험용)",
        description="`MESSAGING_PROVIDER=outbox`(make run의 기본값)일 때 이 발송이 실제로 나갔다면 문자 서비스에 "
                    "넘겼을 메시지를 최근 것부터 돌려줍니다: 본문, 종류, 알림톡 옵션, 접수 결과와 전달 시각. 번호는 "
                    "가려서 보여 줍니다. 실제 문자 서비스를 쓰는 환경에서는 `409 OUTBOX_NOT_IN_USE`, 다른 학원의 "
                    f"발송은 `404`입니다. {STAFF}",
        responses={200: OutboxMessageOutputSerializer(many=True),
                   409: OpenApiResponse(description="`OUTBOX_NOT_IN_USE`")})
    def get(self, request, pk):
        send = get_object_or_404(self.get_queryset(), pk=pk)
        if settings.MESSAGING_PROVIDER != "outbox":
            raise OutboxNotInUseError()
        page = self.paginate_queryset(selectors.outbox_messages_of_send(send=send))
        return self.get_paginated_response(OutboxMessageOutputSerializer(page, many=True).data)


class SendCancelApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = SendOutputSerializer

    def get_tenant_queryset(self, tenant):
        return MessageSend.objects.filter(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="문자 발송 취소",
        description="예약됨(SCHEDULED)이나 대기(QUEUED)인 발송을 취소하고 예약한 크레딧을 돌려줍니다. 이미 발송 "
                    "중(SENDING)이면 아직 나가지 않은 대기 메시지(야간으로 미뤄진 광고 등)만 취소하고 나머지는 "
                    "계속 보냅니다. 남은 대기 메시지가 없으면 `409 SEND_ALREADY_STARTED`, 끝난 발송은 "
                    "`409 SEND_ALREADY_FINISHED`, 이미 취소된 발송은 그대로 `200`입니다. 다른 학원의 발송은 "
                    f"`404`입니다. {STAFF}",
        request=None,
        responses={200: SendOutputSerializer,
                   404: OpenApiResponse(description="`NOT_FOUND` (다른 학원의 발송도)"),
                   409: OpenApiResponse(description="`SEND_ALREADY_STARTED`, `SEND_ALREADY_FINISHED`")})
    def post(self, request, pk):
        # The generic 404 of every id route first (NOT_FOUND, as the other routes answer a foreign id).
        send = sending.send_cancel(tenant=self.tenant, send_id=self.get_object().id)
        send = MessageSend.objects.select_related("created_by").get(id=send.id)
        return Response(SendOutputSerializer(send).data)

