"""Parent accounts HTTP API (issue 14, docs/parents.md): staff invite, list, link, unlink and deactivate parents;
a parent sets their password with the texted code."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.apis import LoginThrottledOutputSerializer
from apps.core.fields import IdField
from apps.core.login_throttle import LoginThrottledError, client_address
from apps.core.permissions import IsTenantAdmin, IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.core.tokens import VersionedTokenObtainPairSerializer
from apps.domains.accounts import selectors, services
from apps.domains.accounts.models import Parent
from apps.domains.students.models import Student

TAGS = ["계정"]
STAFF = "원장, 관리자, 강사, 직원이 호출할 수 있습니다."


class ParentChildSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="student.id")
    name = serializers.CharField(source="student.name")
    left = serializers.SerializerMethodField(help_text="학원을 떠난(삭제된) 학생: 학부모에게는 보이지 않습니다.")

    def get_left(self, link) -> bool:
        return link.student.deleted_at is not None


class ParentOutputSerializer(serializers.ModelSerializer):
    """A parent as selectors.parent_list loads it (children and open invite prefetched)."""

    username = serializers.CharField(source="user.username", help_text="`<휴대폰 번호>@<학원 코드>`")
    is_active = serializers.BooleanField(source="user.is_active", help_text="거짓이면 비활성화되어 로그인할 수 없음")
    activated = serializers.SerializerMethodField(help_text="인증 코드로 비밀번호를 정한 적이 있는지")
    invite_expires_at = serializers.SerializerMethodField(help_text="아직 쓰지 않은 인증 코드의 만료 시각")
    children = ParentChildSerializer(source="child_links", many=True,
                                     help_text="연결된 자녀 (학원을 떠난 자녀는 `left: true`)")

    class Meta:
        model = Parent
        fields = ["id", "phone", "name", "username", "is_active", "activated", "activated_at", "invite_expires_at",
                  "children", "created_at"]

    def get_activated(self, parent) -> bool:
        return parent.activated_at is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_invite_expires_at(self, parent):
        invites = parent.open_invites
        return serializers.DateTimeField().to_representation(invites[0].expires_at) if invites else None


class _ParentBase(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]
    serializer_class = ParentOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.parent_list(tenant=tenant)

    def output(self, parent_id: int) -> dict:
        return ParentOutputSerializer(self.get_queryset().get(id=parent_id)).data

    def student(self, student_id: int) -> Student:
        student = Student.objects.filter(tenant=self.tenant, id=student_id).first()
        if student is None:
            raise services.StudentNotFoundError(details={"student_id": student_id})
        return student


class ParentListApi(_ParentBase):
    @extend_schema(
        tags=TAGS, summary="학부모 목록",
        description="학원의 학부모 계정을 쪽 단위로 돌려줍니다: 연결된 자녀(학원을 떠난 자녀는 `left: true`), "
                    f"비밀번호를 정했는지(`activated`), 쓰지 않은 인증 코드의 만료 시각. {STAFF}",
        responses=ParentOutputSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ParentOutputSerializer(page, many=True).data)


class ParentInviteInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=30, required=False,
                                  help_text="학부모 휴대폰 번호 (학생들의 학부모 전화번호와 같은 번호)")
    student_id = IdField(required=False, help_text="이 학생의 학부모 전화번호로 초대 (`phone` 대신)")
    name = serializers.CharField(max_length=50, required=False, allow_blank=True, help_text="학부모 이름 (선택)")


class ParentInviteOutputSerializer(serializers.Serializer):
    parent = ParentOutputSerializer()
    send_id = serializers.IntegerField(help_text="인증 코드를 보낸 문자 발송의 id")
    expires_at = serializers.DateTimeField(help_text="인증 코드 만료 시각")
    linked_student_ids = serializers.ListField(child=serializers.IntegerField(),
                                               help_text="학부모 전화번호가 같아 연결된 재원생")
    setup_code = serializers.CharField(
        required=False, help_text="내장 발송함(`MESSAGING_PROVIDER=outbox`)에서만: 문자로 보낸 인증 코드")


class ParentInviteApi(_ParentBase):
    @extend_schema(
        tags=TAGS, summary="학부모 초대",
        description="학부모 전화번호(`phone`) 또는 학생(`student_id`)의 학부모 전화번호로 학부모를 초대합니다. "
                    "그 번호가 학부모 전화번호인 재원생을 모두 자녀로 연결하고(학부모 계정이 없으면 만들고), "
                    "한 번만 쓰는 8자리 인증 코드를 학부모에게 문자로 보냅니다. 다시 초대하면 새 코드를 보내고 "
                    "전의 코드는 무효가 됩니다. 비밀번호를 잊은 학부모도 다시 초대합니다. 그런 재원생이 없으면 "
                    "`400 PARENT_PHONE_NO_STUDENTS`, 둘 다 보내거나 둘 다 없으면 `400 PARENT_INVITE_TARGET_INVALID`, "
                    "다른 학원의 학생은 `404 STUDENT_NOT_FOUND`입니다. 문자를 보낼 수 없으면 "
                    "(`409 SENDER_NOT_APPROVED`, `402 INSUFFICIENT_CREDIT`, 수신거부한 번호는 `400 NO_RECIPIENTS`) "
                    "그 코드로 답하고 아무것도 바뀌지 않습니다. 인증 코드는 내장 발송함을 쓰는 "
                    f"환경(make run)에서만 `setup_code`로 함께 돌려줍니다. {STAFF}",
        request=ParentInviteInputSerializer, responses={201: ParentInviteOutputSerializer})
    def post(self, request):
        serializer = ParentInviteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.parent_invite(tenant=self.tenant, phone=data.get("phone"),
                                        student_id=data.get("student_id"), name=data.get("name", ""),
                                        by=request.user)
        body = {"parent": self.get_queryset().get(id=result.parent.id), "send_id": result.send.id,
                "expires_at": result.invite.expires_at, "linked_student_ids": result.linked_student_ids}
        if settings.MESSAGING_PROVIDER == "outbox":
            # The embedded stack delivers nowhere: staff pass the code on so a newcomer can finish the flow.
            body["setup_code"] = result.setup_code
        return Response(ParentInviteOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class ParentChildApi(_ParentBase):
    @extend_schema(
        tags=TAGS, summary="학부모에 자녀 연결",
        description="재원생 한 명을 학부모의 자녀로 연결합니다. 학생의 학부모 전화번호가 이 학부모의 번호와 같아야 "
                    "하며, 다르면 `400 PARENT_PHONE_MISMATCH`(학생 정보의 번호를 먼저 고칩니다)입니다. 이미 연결되어 "
                    "있으면 그대로 돌려줍니다. 다른 학원의 학부모나 학생, 삭제된 학생은 `404`입니다. " + STAFF,
        request=None, responses=ParentOutputSerializer)
    def post(self, request, pk, student_id):
        parent = self.get_object()
        services.parent_child_link(parent=parent, student=self.student(student_id))
        return Response(self.output(parent.id))

    @extend_schema(
        tags=TAGS, summary="학부모와 자녀 연결 해제",
        description="학부모가 이 학생을 더 이상 볼 수 없게 합니다(학생의 기록은 그대로). 연결되어 있지 않아도 "
                    f"`204`입니다. 다른 학원의 학부모나 학생은 `404`입니다. {STAFF}",
        request=None, responses={204: None})
    def delete(self, request, pk, student_id):
        services.parent_child_unlink(parent=self.get_object(), student=self.student(student_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParentDeactivateApi(_ParentBase):
    permission_classes = [IsTenantAdmin]

    @extend_schema(
        tags=TAGS, summary="학부모 계정 비활성화",
        description="학부모의 로그인과 발급된 토큰을 모두 끝내고 쓰지 않은 인증 코드를 무효로 합니다. 다시 초대해 "
                    "새 코드로 비밀번호를 정하면 다시 활성화됩니다. 원장과 관리자만 호출할 수 있습니다.",
        request=None, responses=ParentOutputSerializer)
    def post(self, request, pk):
        parent = self.get_object()
        services.parent_deactivate(parent=parent)
        return Response(self.output(parent.id))


# ---------------------------------------------------------------------------------------------------- activation

class ParentActivateInputSerializer(serializers.Serializer):
    academy = serializers.CharField(max_length=50, help_text="학원 코드 (문자에 적힌 그대로)")
    phone = serializers.CharField(max_length=30, help_text="초대받은 휴대폰 번호")
    code = serializers.CharField(max_length=20, help_text="문자로 받은 8자리 인증 코드")
    password = serializers.CharField(max_length=128, help_text="새 비밀번호 (8자 이상)")


ParentActivateOutputSerializer = inline_serializer("ParentActivateOutput", {
    "access": serializers.CharField(), "refresh": serializers.CharField(),
})


class ParentActivateApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["인증"], summary="학부모 계정 활성화",
        description="문자로 받은 인증 코드로 학부모가 비밀번호를 정하고, 바로 로그인한 `access`와 `refresh` 토큰을 "
                    "받습니다. 로그인 없이 호출합니다. 학원 코드, 번호나 코드가 틀리면 `400 INVITE_CODE_INVALID`"
                    "(한 코드에 여러 번 틀리면 그 코드는 무효), 유효 시간이 지났으면 `400 INVITE_CODE_EXPIRED`, 이미 "
                    "썼으면 `400 INVITE_CODE_USED`, 무효가 된 코드는 `400 INVITE_CODE_VOID`, 비밀번호가 규칙(8자 "
                    "이상, 흔하지 않은 비밀번호)에 맞지 않으면 `400 PASSWORD_TOO_WEAK`(코드는 그대로 쓸 수 있음)"
                    "입니다. 로그인과 같은 한도로 같은 주소에서 여러 번 틀리면 `429 LOGIN_THROTTLED`입니다.",
        request=ParentActivateInputSerializer,
        responses={200: ParentActivateOutputSerializer, 429: LoginThrottledOutputSerializer}, auth=[])
    def post(self, request):
        serializer = ParentActivateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.parent_activate(academy=data["academy"], phone=data["phone"], code=data["code"],
                                        password=data["password"], address=client_address(request))
        # The login's own serializer makes the token, so every claim a login adds is there too.
        refresh = VersionedTokenObtainPairSerializer.get_token(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, LoginThrottledError):
            response["Retry-After"] = str(exc.retry_after_seconds)
        return response
