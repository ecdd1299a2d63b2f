"""Messaging profile and credit HTTP API (ARCHITECTURE §4 Messaging). Owners and admins only: the profile holds
the academy's numbers and prices, the ledger its money."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.permissions import IsTenantAdmin
from apps.core.tenancy import TenantScopedMixin
from apps.domains.messaging import selectors, services
from apps.domains.messaging.models import CreditEntry, MessagingProfile

MAX_PRICE = Decimal("10000")


class ProfileOutputSerializer(serializers.ModelSerializer):
    sender_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = MessagingProfile
        fields = ["sender_number", "sender_verified", "sender_verified_at", "opt_out_number", "kakao_channel_id",
                  "price_sms", "price_lms", "price_ata", "quiet_hours_start", "quiet_hours_end", "updated_at"]


def _price_field():
    return serializers.DecimalField(max_digits=7, decimal_places=2, min_value=Decimal("0"), max_value=MAX_PRICE,
                                    required=False)


class ProfileInputSerializer(serializers.Serializer):
    sender_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    opt_out_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    kakao_channel_id = serializers.CharField(max_length=100, required=False, allow_blank=True)
    price_sms = _price_field()
    price_lms = _price_field()
    price_ata = _price_field()
    quiet_hours_start = serializers.TimeField(required=False, allow_null=True)
    quiet_hours_end = serializers.TimeField(required=False, allow_null=True)


class CreditEntryOutputSerializer(serializers.ModelSerializer):
    created_by_username = serializers.CharField(source="created_by.username", default=None, allow_null=True,
                                                read_only=True)

    class Meta:
        model = CreditEntry
        fields = ["id", "kind", "amount", "reference", "memo", "created_by_username", "created_at"]


_ERRORS = {400: OpenApiResponse(description="입력값 오류 (`VALIDATION_ERROR`, `INVALID_SENDER_NUMBER`, "
                                            "`INVALID_OPT_OUT_NUMBER`, `QUIET_HOURS_INCOMPLETE`)")}


class MessagingProfileApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = ProfileOutputSerializer

    def get_tenant_queryset(self, tenant):
        return MessagingProfile.objects.filter(tenant=tenant)

    @extend_schema(
        tags=["문자"], summary="문자 발송 설정 조회",
        description="학원의 발신번호와 확인 여부, 080 수신거부 번호, 카카오 채널, 종류별 단가(SMS, LMS, 알림톡), "
                    "방해 금지 시간을 돌려줍니다. 처음 조회하면 기본 단가로 설정을 만듭니다. 원장과 관리자만 "
                    "호출할 수 있습니다.",
        responses=ProfileOutputSerializer)
    def get(self, request):
        return Response(ProfileOutputSerializer(services.messaging_profile_ensure(tenant=self.tenant)).data)

    @extend_schema(
        tags=["문자"], summary="문자 발송 설정 수정",
        description="보낸 항목만 바꿉니다. 발신번호는 010 휴대폰, 지역번호 유선전화(02, 031 등, 070), 대표번호"
                    "(15xx, 16xx, 18xx)만 받으며 숫자로 저장합니다. 발신번호를 바꾸면 확인이 풀려 다시 확인해야 "
                    "합니다. 수신거부 번호는 080 번호, 방해 금지 시간은 시작과 끝을 함께 정합니다. 원장과 관리자만 "
                    "호출할 수 있습니다.",
        request=ProfileInputSerializer, responses={200: ProfileOutputSerializer, **_ERRORS})
    def patch(self, request):
        serializer = ProfileInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        profile = services.messaging_profile_update(tenant=self.tenant, data=serializer.validated_data)
        return Response(ProfileOutputSerializer(profile).data)


class MessagingVerifySenderApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = ProfileOutputSerializer

    def get_tenant_queryset(self, tenant):
        return MessagingProfile.objects.filter(tenant=tenant)

    @extend_schema(
        tags=["문자"], summary="발신번호 확인",
        description="저장된 발신번호가 문자 서비스에 등록되어 승인되었는지 묻고, 승인되었으면 확인 시각을 "
                    "기록합니다. 승인되지 않았으면 `409 SENDER_NOT_APPROVED`이며 `details.provider_status`에 "
                    "문자 서비스의 상태(PENDING, NOT_REGISTERED)가 있습니다. 원장과 관리자만 호출할 수 있습니다.",
        request=None,
        responses={200: ProfileOutputSerializer,
                   409: OpenApiResponse(description="승인되지 않은 발신번호 (`SENDER_NOT_APPROVED`)")})
    def post(self, request):
        profile = services.messaging_profile_verify_sender(tenant=self.tenant)
        return Response(ProfileOutputSerializer(profile).data)


class MessagingCreditsApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = CreditEntryOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.credit_entry_list(tenant=tenant)

    @extend_schema(
        tags=["문자"], summary="문자 크레딧 잔액과 내역",
        description="잔액(`balance`, 내역의 합)과 충전, 예약, 차감, 환불, 예약 해제 내역을 최근 것부터 쪽 단위로 "
                    "돌려줍니다. 원장과 관리자만 호출할 수 있습니다.",
        responses=inline_serializer("CreditPage", fields={
            "balance": serializers.DecimalField(max_digits=12, decimal_places=2),
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": CreditEntryOutputSerializer(many=True),
        }))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        response = self.get_paginated_response(CreditEntryOutputSerializer(page, many=True).data)
        response.data = {"balance": str(selectors.credit_balance(tenant=self.tenant)), **response.data}
        return response
