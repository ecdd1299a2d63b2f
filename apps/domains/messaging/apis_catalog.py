"""Messaging catalog HTTP API (ARCHITECTURE §4 Messaging): templates, ad consents, the opt-out list and the
automatic notice settings. Thin views over catalog.py (writes) and selectors.py (reads)."""

import django_filters
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from apps.core.fields import IdField
from apps.core.filters import FilterSet, IdFilter
from apps.core.permissions import IsTenantAdmin, IsTenantStaff, StaffWriteAdminDelete
from apps.core.tenancy import TenantScopedMixin
from apps.domains.messaging import catalog, encoding, rendering, selectors
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    ConsentHolder,
    ConsentKind,
    MessageConsent,
    MessageOptOut,
    MessageTemplate,
    NoticeKind,
    SendAudience,
    SendMode,
    TemplateCategory,
    TemplateChannel,
)

TAG = "문자"


class StaffReadAdminWrite(IsTenantStaff):
    """Staff read (they pick templates to send); owners and admins write."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or request.user.is_tenant_admin


def _username(source: str) -> serializers.CharField:
    # The user may be gone (SET_NULL) or never set (a row written by a task).
    return serializers.CharField(source=f"{source}.username", default=None, allow_null=True, read_only=True)


def _errors(**by_status: str) -> dict:
    return {int(code[1:]): OpenApiResponse(description=text) for code, text in by_status.items()}


# ---------------------------------------------------------------------------------------------------- templates

class UnsupportedCharacterSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="본문(줄바꿈은 LF로 맞춘 뒤)에서의 위치, 0부터")
    char = serializers.CharField()
    codepoint = serializers.CharField(help_text="U+1F600 꼴")


class TemplateOutputSerializer(serializers.ModelSerializer):
    variables = serializers.SerializerMethodField(help_text="본문의 #{변수} 이름, 처음 나온 순서로 한 번씩")
    unsupported_characters = serializers.SerializerMethodField(
        help_text="문자(SMS/LMS)로 보낼 수 없는 글자(이모지 등)와 위치; 알림톡 템플릿에만 있을 수 있음")
    created_by_username = _username("created_by")

    class Meta:
        model = MessageTemplate
        fields = ["id", "name", "channel", "category", "subject", "body", "variables", "unsupported_characters",
                  "provider_template_id", "review_status", "review_checked_at", "created_by_username",
                  "created_at", "updated_at"]

    def get_variables(self, template) -> list[str]:
        return rendering.template_variables(template.body)

    @extend_schema_field(UnsupportedCharacterSerializer(many=True))
    def get_unsupported_characters(self, template) -> list[dict]:
        return [{"index": index, "char": char, "codepoint": f"U+{ord(char):04X}"}
                for index, char in encoding.unsupported_characters(template.body)]


class TemplateSyncOutputSerializer(TemplateOutputSerializer):
    provider_status = serializers.CharField(help_text="문자 서비스의 답: APPROVED, PENDING, REJECTED, NOT_FOUND")

    class Meta(TemplateOutputSerializer.Meta):
        fields = [*TemplateOutputSerializer.Meta.fields, "provider_status"]


class TemplateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=TemplateChannel.choices, default=TemplateChannel.SMS)
    category = serializers.ChoiceField(choices=TemplateCategory.choices, default=TemplateCategory.ETC)
    subject = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    # Blank reaches the service, which answers TEMPLATE_BODY_EMPTY.
    body = serializers.CharField(max_length=4000, allow_blank=True, trim_whitespace=False)
    provider_template_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class TemplateFilter(FilterSet):
    channel = django_filters.ChoiceFilter(choices=TemplateChannel.choices)
    category = django_filters.ChoiceFilter(choices=TemplateCategory.choices)

    class Meta:
        model = MessageTemplate
        fields = ["channel", "category", "review_status"]


_TEMPLATE_400 = ("입력값 오류 (`VALIDATION_ERROR`, `TEMPLATE_BODY_EMPTY`, `TEMPLATE_VARIABLE_MALFORMED`, "
                 "`UNSUPPORTED_CHARACTERS`, `SUBJECT_TOO_LONG`, `MESSAGE_TOO_LONG`, `TEMPLATE_TOO_LONG`, "
                 "`ALIMTALK_TEMPLATE_ID_REQUIRED`, `TEMPLATE_FIELD_NOT_ALLOWED`, `ALIMTALK_AD_NOT_ALLOWED`)")
_TEMPLATE_RULES = (
    "본문의 변수는 `#{학생이름}`처럼 쓰며, 닫히지 않은 변수는 `400 TEMPLATE_VARIABLE_MALFORMED`입니다. 문자(sms) "
    "템플릿은 이모지처럼 문자로 보낼 수 없는 글자가 있으면 `400 UNSUPPORTED_CHARACTERS`(위치는 `details`), 제목이 "
    "40바이트(EUC-KR)를 넘으면 `400 SUBJECT_TOO_LONG`입니다. 알림톡(alimtalk) 템플릿은 카카오 템플릿 코드"
    "(`provider_template_id`)가 필요하고 제목과 광고(ad) 분류는 쓸 수 없으며, 만들거나 본문·코드를 바꾸면 검수 "
    "상태가 PENDING이 되어 다시 확인해야 합니다. 살아 있는 템플릿끼리 이름이 같으면 `409 TEMPLATE_NAME_TAKEN`입니다.")


class TemplateListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffReadAdminWrite]
    serializer_class = TemplateOutputSerializer
    filterset_class = TemplateFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "created_at", "updated_at"]

    def get_tenant_queryset(self, tenant):
        return selectors.message_template_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="문자 템플릿 목록",
        description="삭제되지 않은 템플릿을 이름 순으로 쪽 단위로 돌려줍니다. `channel`(sms, alimtalk), `category`, "
                    "`review_status`로 거르고 `search`로 이름을 찾습니다. 각 템플릿에 본문의 변수 목록"
                    "(`variables`)이 있습니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=TemplateOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TemplateOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG], summary="문자 템플릿 만들기",
        description=f"템플릿을 만듭니다. {_TEMPLATE_RULES} 원장과 관리자만 호출할 수 있습니다.",
        request=TemplateInputSerializer,
        responses={201: TemplateOutputSerializer, **_errors(e400=_TEMPLATE_400,
                                                            e409="같은 이름의 템플릿 (`TEMPLATE_NAME_TAKEN`)")})
    def post(self, request):
        serializer = TemplateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = catalog.message_template_create(tenant=self.tenant, by=request.user, **serializer.validated_data)
        return Response(TemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffReadAdminWrite]
    serializer_class = TemplateOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.message_template_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="문자 템플릿 조회",
        description="템플릿 하나를 돌려줍니다. 삭제된 템플릿과 다른 학원의 id는 `404`입니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        responses=TemplateOutputSerializer)
    def get(self, request, pk):
        return Response(TemplateOutputSerializer(self.get_object()).data)

    @extend_schema(
        tags=[TAG], summary="문자 템플릿 수정",
        description=f"보낸 항목만 바꿉니다. {_TEMPLATE_RULES} 자동 알림에서 쓰는 템플릿의 채널은 바꿀 수 없습니다"
                    "(`409 TEMPLATE_IN_USE`). 원장과 관리자만 호출할 수 있습니다.",
        request=TemplateInputSerializer(partial=True),
        responses={200: TemplateOutputSerializer,
                   **_errors(e400=_TEMPLATE_400,
                             e409="같은 이름의 템플릿 (`TEMPLATE_NAME_TAKEN`), 자동 알림에서 쓰는 템플릿의 채널 변경 "
                                  "(`TEMPLATE_IN_USE`)")})
    def patch(self, request, pk):
        template = self.get_object()
        serializer = TemplateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = catalog.message_template_update(template=template, data=serializer.validated_data)
        return Response(TemplateOutputSerializer(template).data)

    @extend_schema(
        tags=[TAG], summary="문자 템플릿 삭제",
        description="템플릿을 목록에서 지웁니다(이미 보낸 문자의 기록은 남습니다). 자동 알림 설정에서 쓰고 있으면 "
                    "`409 TEMPLATE_IN_USE`이며 `details.notices`에 그 알림 종류가 있습니다. 원장과 관리자만 호출할 "
                    "수 있습니다.",
        responses={204: None, **_errors(e409="자동 알림에서 쓰는 템플릿 (`TEMPLATE_IN_USE`)")})
    def delete(self, request, pk):
        catalog.message_template_soft_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplateSyncApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = TemplateSyncOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.message_template_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="알림톡 템플릿 검수 상태 확인",
        description="문자 서비스에 알림톡 템플릿의 카카오 검수 상태를 묻고, 답(`provider_status`)에 따라 "
                    "`review_status`(APPROVED, PENDING, REJECTED)와 확인 시각을 저장합니다. 문자 서비스가 모르는 "
                    "템플릿 코드(NOT_FOUND)는 REJECTED로 저장합니다. 검수 중인 템플릿은 10분마다 저절로도 "
                    "확인합니다. 문자 템플릿은 `409 TEMPLATE_NOT_ALIMTALK`, 문자 서비스에 닿지 않으면 "
                    "`503 MESSAGE_PROVIDER_UNAVAILABLE`입니다. 원장과 관리자만 호출할 수 있습니다.",
        request=None,
        responses={200: TemplateSyncOutputSerializer,
                   **_errors(e409="알림톡 템플릿이 아님 (`TEMPLATE_NOT_ALIMTALK`)",
                             e503="문자 서비스에 닿지 않음 (`MESSAGE_PROVIDER_UNAVAILABLE`)")})
    def post(self, request, pk):
        result = catalog.message_template_sync_api(template=self.get_object())
        result.template.provider_status = result.provider_status
        return Response(TemplateSyncOutputSerializer(result.template).data)


# ---------------------------------------------------------------------------------------------------- consents

class ConsentOutputSerializer(serializers.ModelSerializer):
    student_id = serializers.IntegerField()
    student_name = serializers.CharField(source="student.name")
    recorded_by_username = _username("recorded_by")
    valid = serializers.SerializerMethodField(help_text="철회되지 않았고 동의(또는 재확인) 뒤 2년이 지나지 않음")
    expires_on = serializers.SerializerMethodField(help_text="동의가 유효한 마지막 날(한국 시간)")

    class Meta:
        model = MessageConsent
        fields = ["id", "student_id", "student_name", "holder", "kind", "method", "granted_at", "reconfirmed_at",
                  "withdrawn_at", "valid", "expires_on", "recorded_by_username", "created_at"]

    def _now(self):
        return self.context.get("now") or timezone.now()

    def get_valid(self, consent) -> bool:
        return selectors.consent_is_valid(consent, self._now())

    @extend_schema_field(OpenApiTypes.DATE)
    def get_expires_on(self, consent) -> str:
        return selectors.consent_expires_on(consent, self._now()).isoformat()


class ConsentRecordedOutputSerializer(ConsentOutputSerializer):
    created = serializers.BooleanField(help_text="새로 기록했으면 true, 있던 동의를 재확인했으면 false")

    class Meta(ConsentOutputSerializer.Meta):
        fields = [*ConsentOutputSerializer.Meta.fields, "created"]


class ConsentRecordOutputSerializer(serializers.Serializer):
    created_count = serializers.IntegerField(help_text="새로 기록한 동의 수")
    reconfirmed_count = serializers.IntegerField(help_text="이미 있던 동의를 재확인한 수")
    consents = ConsentRecordedOutputSerializer(many=True, help_text="학생마다 하나, 보낸 순서대로")


class ConsentInputSerializer(serializers.Serializer):
    student_ids = serializers.ListField(child=IdField(), min_length=1, max_length=catalog.CONSENT_MAX_STUDENTS)
    holder = serializers.ChoiceField(choices=ConsentHolder.choices)
    kind = serializers.ChoiceField(choices=ConsentKind.choices)
    method = serializers.CharField(max_length=200, help_text="동의를 받은 방법: 서면 동의서, 전화 녹취 등")
    granted_at = serializers.DateTimeField(required=False, allow_null=True, help_text="동의 시각 (기본: 지금)")


class ConsentFilter(FilterSet):
    student = IdFilter(field_name="student_id")
    kind = django_filters.ChoiceFilter(choices=ConsentKind.choices)
    holder = django_filters.ChoiceFilter(choices=ConsentHolder.choices)

    class Meta:
        model = MessageConsent
        fields = ["student", "kind", "holder"]


class ConsentValidQuerySerializer(serializers.Serializer):
    valid = serializers.BooleanField(required=False, allow_null=True, default=None)


class ConsentListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ConsentOutputSerializer
    filterset_class = ConsentFilter
    ordering_fields = ["id", "granted_at", "created_at"]

    def get_tenant_queryset(self, tenant):
        valid = getattr(self, "_valid", None)
        return selectors.message_consent_list(tenant=tenant, now=getattr(self, "_now", None), valid=valid)

    @extend_schema(
        tags=[TAG], summary="광고 수신 동의 목록",
        description="기록된 광고 수신 동의를 최근 것부터 쪽 단위로 돌려줍니다. `student`, `kind`(ad, ad_night), "
                    "`holder`(student, parent)로 거르고, `valid=true`는 지금 유효한 동의만, `valid=false`는 "
                    "철회되었거나 2년이 지난 동의만 돌려줍니다. 각 동의에 유효 여부(`valid`)와 마지막 "
                    "유효일(`expires_on`)이 있습니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        parameters=[OpenApiParameter("valid", OpenApiTypes.BOOL, description="지금 유효한 동의만(true) 또는 "
                                                                             "유효하지 않은 동의만(false)")],
        responses=ConsentOutputSerializer(many=True))
    def get(self, request):
        query = ConsentValidQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self._valid, self._now = query.validated_data["valid"], timezone.now()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            ConsentOutputSerializer(page, many=True, context={"now": self._now}).data)

    @extend_schema(
        tags=[TAG], summary="광고 수신 동의 기록",
        description="정보통신망법 제50조의 광고 수신 사전 동의를 학생마다 하나씩 기록합니다(한 번에 최대 1,000명). "
                    "`holder`는 학생 본인(student) 또는 학부모(parent), `kind`는 광고(ad) 또는 야간 광고(ad_night), "
                    "`method`는 동의를 받은 방법입니다. `granted_at`을 비우면 지금이며 미래일 수 없습니다"
                    "(`400 CONSENT_GRANTED_AT_INVALID`). 같은 사람, 같은 종류의 철회되지 않은 동의가 이미 있으면 "
                    "새로 만들지 않고 재확인(`reconfirmed_at`)으로 기록해 2년을 다시 셉니다. 다른 학원이나 삭제된 "
                    "학생이 하나라도 있으면 아무것도 기록하지 않고 `404 STUDENT_NOT_FOUND`입니다. 원장, 관리자, "
                    "강사, 직원이 호출할 수 있습니다.",
        request=ConsentInputSerializer,
        responses={201: ConsentRecordOutputSerializer,
                   **_errors(e400="입력값 오류 (`VALIDATION_ERROR`, `CONSENT_METHOD_REQUIRED`, "
                                  "`CONSENT_GRANTED_AT_INVALID`)",
                             e404="없는 학생 (`STUDENT_NOT_FOUND`, `details.student_ids`)")})
    def post(self, request):
        serializer = ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recorded = catalog.message_consent_record(tenant=self.tenant, by=request.user, **serializer.validated_data)
        for item in recorded:
            item.consent.created = item.created
        created = sum(item.created for item in recorded)
        return Response(ConsentRecordOutputSerializer({
            "created_count": created, "reconfirmed_count": len(recorded) - created,
            "consents": [item.consent for item in recorded]}).data, status=status.HTTP_201_CREATED)


class ConsentWithdrawApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ConsentOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.message_consent_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="광고 수신 동의 철회",
        description="동의를 철회된 것으로 기록합니다. 이미 철회된 동의는 처음 철회한 시각을 그대로 돌려줍니다. 철회한 "
                    "동의는 기록으로 남고, 다시 동의하면 새로 기록합니다. 원장, 관리자, 강사, 직원이 호출할 수 "
                    "있습니다.",
        request=None, responses=ConsentOutputSerializer)
    def post(self, request, pk):
        consent = catalog.message_consent_withdraw(consent=self.get_object())
        return Response(ConsentOutputSerializer(consent).data)


# ---------------------------------------------------------------------------------------------------- opt-outs

class OptOutOutputSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField(help_text="가운데를 가린 번호 (010****5678)")
    created_by_username = _username("created_by")

    class Meta:
        model = MessageOptOut
        fields = ["id", "phone", "source", "memo", "created_by_username", "created_at"]

    def get_phone(self, opt_out) -> str:
        return catalog.masked_phone(opt_out.phone)


class OptOutInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30, help_text="010-1234-5678, 02 555 0100, +82 10… 어떤 형식이든")
    memo = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OptOutQuerySerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)


class OptOutListCreateApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = OptOutOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.message_opt_out_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="수신거부 목록",
        description="이 학원에서 아무 문자도 받지 않을 번호를 최근 것부터 쪽 단위로 돌려줍니다. 번호는 가운데를 가려 "
                    "보여 주며, `phone`에 번호 전체를 넣으면(어떤 형식이든) 그 번호만 찾습니다. 올바르지 않은 번호는 "
                    "`400 INVALID_PHONE`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        parameters=[OpenApiParameter("phone", OpenApiTypes.STR, description="찾을 번호 전체")],
        responses=OptOutOutputSerializer(many=True))
    def get(self, request):
        query = OptOutQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        opt_outs = self.get_queryset()
        phone = query.validated_data.get("phone", "").strip()
        if phone:
            opt_outs = opt_outs.filter(phone=catalog.opt_out_phone_normalize(phone))
        page = self.paginate_queryset(opt_outs)
        return self.get_paginated_response(OptOutOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG], summary="수신거부 번호 등록",
        description="번호를 수신거부 목록에 올립니다. 번호는 하이픈, 공백, +82 등 어떤 형식이든 받아 숫자로 저장하며, "
                    "휴대폰이나 유선전화 번호가 아니면 `400 INVALID_PHONE`입니다. 새로 올리면 `201`, 이미 있는 "
                    "번호면 그 기록을 `200`으로 돌려줍니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=OptOutInputSerializer,
        responses={201: OptOutOutputSerializer, 200: OptOutOutputSerializer,
                   **_errors(e400="올바르지 않은 번호 (`INVALID_PHONE`, `VALIDATION_ERROR`)")})
    def post(self, request):
        serializer = OptOutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        opt_out, created = catalog.message_opt_out_add(tenant=self.tenant, by=request.user,
                                                       **serializer.validated_data)
        return Response(OptOutOutputSerializer(opt_out).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OptOutDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = OptOutOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.message_opt_out_list(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="수신거부 해제",
        description="번호를 수신거부 목록에서 뺍니다. 그 번호는 다시 문자를 받습니다. 원장과 관리자만 호출할 수 "
                    "있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        catalog.message_opt_out_remove(opt_out=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------------------------------------------- notices

class NoticeTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTemplate
        fields = ["id", "name", "channel", "review_status"]


class NoticeSettingOutputSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    template = NoticeTemplateSerializer(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True, help_text="한 번도 바꾸지 않은 알림은 null")

    class Meta:
        model = AutoNoticeSetting
        fields = ["kind", "kind_label", "enabled", "template", "mode", "audience", "updated_at"]


class NoticeSettingInputSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    template_id = IdField(required=False, allow_null=True)
    mode = serializers.ChoiceField(choices=SendMode.choices, required=False)
    audience = serializers.ChoiceField(choices=SendAudience.choices, required=False)


class NoticeSettingListApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = NoticeSettingOutputSerializer
    pagination_class = None

    def get_tenant_queryset(self, tenant):
        return AutoNoticeSetting.objects.filter(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="자동 알림 설정 목록",
        description="결석(absence), 지각(late), 계정 안내(welcome), 성적 발표(exam_published) 자동 알림의 설정을 "
                    "네 가지 모두 돌려줍니다. 한 번도 정하지 않은 알림은 꺼져 있고 템플릿이 없습니다. 원장과 관리자만 "
                    "호출할 수 있습니다.",
        responses=NoticeSettingOutputSerializer(many=True))
    def get(self, request):
        return Response(NoticeSettingOutputSerializer(selectors.auto_notice_setting_list(tenant=self.tenant),
                                                      many=True).data)


class NoticeSettingDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = NoticeSettingOutputSerializer

    def get_tenant_queryset(self, tenant):
        return AutoNoticeSetting.objects.filter(tenant=tenant)

    @extend_schema(
        tags=[TAG], summary="자동 알림 설정 수정",
        description="보낸 항목만 바꿉니다(`enabled`, `template_id`, `mode`, `audience`). 켜려면 템플릿이 있어야 하고"
                    "(`400 NOTICE_TEMPLATE_REQUIRED`), 문자(sms) 방식에는 문자 템플릿, 알림톡 방식에는 알림톡 템플릿"
                    "이어야 합니다(`400 NOTICE_TEMPLATE_CHANNEL_MISMATCH`). 알림톡 방식은 카카오 검수에서 승인된 "
                    "템플릿이어야 켤 수 있습니다(`409 TEMPLATE_NOT_APPROVED`). 다른 학원이나 삭제된 템플릿은 "
                    "`404 TEMPLATE_NOT_FOUND`, 없는 알림 종류는 `404 NOTICE_KIND_NOT_FOUND`입니다. 원장과 관리자만 "
                    "호출할 수 있습니다.",
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=NoticeKind.values,
                                     description="알림 종류")],
        request=NoticeSettingInputSerializer,
        responses={200: NoticeSettingOutputSerializer,
                   **_errors(e400="입력값 오류 (`VALIDATION_ERROR`, `NOTICE_TEMPLATE_REQUIRED`, "
                                  "`NOTICE_TEMPLATE_CHANNEL_MISMATCH`)",
                             e404="없는 알림 종류나 템플릿 (`NOTICE_KIND_NOT_FOUND`, `TEMPLATE_NOT_FOUND`)",
                             e409="승인되지 않은 알림톡 템플릿 (`TEMPLATE_NOT_APPROVED`)")})
    def patch(self, request, kind):
        serializer = NoticeSettingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        setting = catalog.auto_notice_setting_update(tenant=self.tenant, kind=kind, data=serializer.validated_data)
        return Response(NoticeSettingOutputSerializer(setting).data)
