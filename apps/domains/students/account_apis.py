"""Students' logins over HTTP (issue 14): create, reset and deactivate a login; record a guardian's consent.

Answers carrying a password say `Cache-Control: no-store`: the password is shown once, to the staff member who
set it, and nowhere else.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.passwords import PASSWORD_MAX_LENGTH
from apps.core.permissions import IsTenantAdmin, IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.students import accounts, selectors
from apps.domains.students.apis import StudentAccountOutputSerializer, StudentAccountPasswordOutputSerializer
from apps.domains.students.models import ConsentMethod, GuardianConsent, GuardianRelation

POLICY = ("비밀번호는 8자 이상이고 흔한 비밀번호, 숫자만으로 된 비밀번호, 아이디나 이름과 비슷한 비밀번호는 "
          "쓸 수 없으며, 어기면 `400 PASSWORD_TOO_WEAK`(`details.messages`에 까닭)이고 아무것도 바꾸지 않습니다.")


class PasswordInputSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False, max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, write_only=True,
        help_text="새 비밀번호. 보내지 않으면 읽기 쉬운 12자 이상의 비밀번호를 만들어 돌려줍니다.")


def _account_body(account: accounts.StudentAccount) -> dict:
    body = StudentAccountOutputSerializer(account).data
    if account.password is not None:
        body["password"] = account.password
    return body


def _password_response(account: accounts.StudentAccount, code: int) -> Response:
    response = Response(_account_body(account), status=code)
    response["Cache-Control"] = "no-store"
    return response


class _StudentScoped(TenantScopedMixin, GenericAPIView):
    def get_tenant_queryset(self, tenant):
        return selectors.student_list(tenant=tenant)


class StudentAccountApi(_StudentScoped):
    permission_classes = [IsTenantStaff]
    serializer_class = PasswordInputSerializer

    @extend_schema(
        tags=["계정"], summary="학생 계정 만들기",
        description="학생의 로그인 계정을 만들고 아이디(`<학원 코드>-<학생 id>`)와 비밀번호를 이 응답에서 한 번만 "
                    "돌려줍니다. `password`를 보내지 않으면 만들어 줍니다. " + POLICY + " 이미 계정이 있으면 "
                    "`409 ACCOUNT_EXISTS`(재설정을 사용), 삭제되었거나 다른 학원의 학생은 `404`입니다. 만 14세 "
                    "미만이거나 나이를 알 수 없는 학생(생년월일이 없고 고등학생이 아님)의 계정은 보호자 동의가 "
                    "기록될 때까지 비활성(`is_active: false`, `inactive_reason: GUARDIAN_CONSENT_REQUIRED`)입니다. "
                    "원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=PasswordInputSerializer, responses={201: StudentAccountPasswordOutputSerializer})
    def post(self, request, pk):
        serializer = PasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = accounts.student_account_create(student=self.get_object(),
                                                  password=serializer.validated_data.get("password"))
        return _password_response(account, status.HTTP_201_CREATED)


class StudentAccountResetApi(_StudentScoped):
    permission_classes = [IsTenantStaff]
    serializer_class = PasswordInputSerializer

    @extend_schema(
        tags=["계정"], summary="학생 계정 비밀번호 재설정",
        description="학생 계정에 새 비밀번호를 정하고 이 응답에서 한 번만 돌려줍니다. `password`를 보내지 않으면 "
                    "만들어 줍니다. 학생이 가진 모든 토큰(access, refresh)은 곧바로 쓸 수 없게 됩니다. " + POLICY +
                    " 중지된 계정은 다시 활성화됩니다(만 14세 미만은 보호자 동의가 있을 때). 계정이 없으면 "
                    "`404 ACCOUNT_NOT_FOUND`, 삭제되었거나 다른 학원의 학생은 `404`입니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        request=PasswordInputSerializer, responses={200: StudentAccountPasswordOutputSerializer})
    def post(self, request, pk):
        serializer = PasswordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = accounts.student_account_reset(student=self.get_object(),
                                                 password=serializer.validated_data.get("password"))
        return _password_response(account, status.HTTP_200_OK)


class StudentAccountDeactivateApi(_StudentScoped):
    permission_classes = [IsTenantStaff]
    serializer_class = StudentAccountOutputSerializer

    @extend_schema(
        tags=["계정"], summary="학생 계정 사용 중지",
        description="학생 계정을 비활성으로 바꾸고(`inactive_reason: DEACTIVATED`) 학생이 가진 모든 토큰을 끝냅니다. "
                    "다시 쓰게 하려면 비밀번호를 재설정합니다. 계정이 없으면 `404 ACCOUNT_NOT_FOUND`, 삭제되었거나 "
                    "다른 학원의 학생은 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=None, responses={200: StudentAccountOutputSerializer})
    def post(self, request, pk):
        return Response(_account_body(accounts.student_account_deactivate(student=self.get_object())))


class GuardianConsentOutputSerializer(serializers.ModelSerializer):
    recorded_by_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = GuardianConsent
        fields = ["id", "guardian_name", "relation", "method", "consented_at", "memo", "recorded_by_id",
                  "recorded_at"]


class GuardianConsentInputSerializer(serializers.Serializer):
    guardian_name = serializers.CharField(max_length=50, help_text="동의한 보호자의 이름")
    relation = serializers.ChoiceField(choices=GuardianRelation.choices, help_text="학생과의 관계")
    method = serializers.ChoiceField(choices=ConsentMethod.choices, help_text="동의를 받은 방법")
    consented_at = serializers.DateTimeField(help_text="동의를 받은 일시(2000년부터 현재까지)")
    memo = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                 help_text="확인 방법 등 메모(동의서 보관 위치 등)")


GuardianConsentStateSerializer = inline_serializer("GuardianConsentState", {
    "required": serializers.BooleanField(help_text="만 14세 미만으로 보아 동의가 있어야 계정이 활성화되는지"),
    "consent": GuardianConsentOutputSerializer(allow_null=True),
    "account": StudentAccountOutputSerializer(allow_null=True),
})


class GuardianConsentApi(_StudentScoped):
    serializer_class = GuardianConsentOutputSerializer

    def get_permissions(self):
        # Reading is for every staff member; recording and withdrawing a legal consent is for owners and admins.
        return [IsTenantStaff() if self.request.method == "GET" else IsTenantAdmin()]

    def _state(self, student, code=status.HTTP_200_OK) -> Response:
        consent = accounts.guardian_consent_live(student=student)
        student.refresh_from_db()
        account = accounts.student_account_of(student)
        return Response({
            "required": accounts.student_consent_required(student=student),
            "consent": GuardianConsentOutputSerializer(consent).data if consent else None,
            "account": _account_body(account) if account else None,
        }, status=code)

    @extend_schema(
        tags=["계정"], summary="보호자 동의 조회",
        description="학생의 보호자 동의(누가, 어떻게, 언제)와 동의가 필요한지(`required`: 만 14세 미만, 또는 "
                    "생년월일이 없고 고등학생이 아님), 계정 상태를 돌려줍니다. 동의가 없으면 `consent: null`입니다. "
                    "삭제되었거나 다른 학원의 학생은 `404`입니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=GuardianConsentStateSerializer)
    def get(self, request, pk):
        return self._state(self.get_object())

    @extend_schema(
        tags=["계정"], summary="보호자 동의 기록",
        description="보호자의 동의를 기록합니다(개인정보 보호법 제22조의2). 동의를 기다리던 학생 계정은 곧바로 "
                    "활성화됩니다(학원이 중지한 계정은 그대로). 이미 동의가 있으면 `409 GUARDIAN_CONSENT_EXISTS`, "
                    "미래나 2000년 전의 동의 일시는 `400 INVALID_CONSENT_DATE`, 삭제되었거나 다른 학원의 학생은 "
                    "`404`입니다. 원장과 관리자만 호출할 수 있습니다.",
        request=GuardianConsentInputSerializer, responses={201: GuardianConsentStateSerializer})
    def post(self, request, pk):
        serializer = GuardianConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        student = self.get_object()
        accounts.guardian_consent_record(student=student, recorded_by=request.user, **serializer.validated_data)
        return self._state(student, status.HTTP_201_CREATED)

    @extend_schema(
        tags=["계정"], summary="보호자 동의 철회",
        description="보호자 동의를 철회로 기록합니다(기록은 남음). 만 14세 미만 학생의 계정은 비활성이 되고 모든 "
                    "토큰이 끝납니다. 동의가 없으면 `404 GUARDIAN_CONSENT_NOT_FOUND`, 삭제되었거나 다른 학원의 "
                    "학생은 `404`입니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        accounts.guardian_consent_withdraw(student=self.get_object(), withdrawn_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
