"""Student HTTP API (ARCHITECTURE §6 domains/students): thin views over the student services and selectors."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.permissions import IsTenantAdmin, StaffWriteAdminDelete
from apps.core.tenancy import TenantScopedMixin
from apps.domains.students import accounts, selectors, services
from apps.domains.students.filters import StudentFilter
from apps.domains.students.grades import MAX_GRADE, NOTATION_MAX_LENGTH, grade_label
from apps.domains.students.models import Gender, SchoolType, Student

INACTIVE_REASONS = [accounts.GUARDIAN_CONSENT_REQUIRED, accounts.DEACTIVATED]


class StudentAccountOutputSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="로그인 아이디: `<학원 코드>-<학생 id>`")
    is_active = serializers.BooleanField()
    inactive_reason = serializers.ChoiceField(
        choices=INACTIVE_REASONS, allow_null=True,
        help_text="비활성인 까닭: GUARDIAN_CONSENT_REQUIRED(만 14세 미만, 보호자 동의 필요), DEACTIVATED(학원이 중지)")
    inactive_message = serializers.CharField(allow_null=True)


class StudentAccountPasswordOutputSerializer(StudentAccountOutputSerializer):
    password = serializers.CharField(help_text="이번 응답에서 한 번만 보이는 비밀번호")


class StudentOutputSerializer(serializers.ModelSerializer):
    grade_label = serializers.SerializerMethodField(help_text="'고2', '3학년'; '예비 고2' until grade_starts_on")
    account = serializers.SerializerMethodField(help_text="학생의 로그인 계정, 없으면 null")

    class Meta:
        model = Student
        fields = ["id", "name", "parent_phone", "phone", "school", "school_type", "grade", "grade_starts_on",
                  "grade_label", "gender", "birth_date", "memo", "student_number", "user_id", "account",
                  "deleted_at", "created_at", "updated_at"]

    def get_grade_label(self, student) -> str:
        return grade_label(school_type=student.school_type, grade=student.grade,
                           starts_on=student.grade_starts_on, today=timezone.localdate())

    @extend_schema_field(StudentAccountOutputSerializer(allow_null=True))
    def get_account(self, student) -> dict | None:
        account = accounts.student_account_of(student)
        return None if account is None else StudentAccountOutputSerializer(account).data


@extend_schema_field({
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": max(MAX_GRADE.values())},
        {"type": "string", "maxLength": NOTATION_MAX_LENGTH, "example": "예비 고2"},
    ],
    "nullable": True,
    "description": "학년: 숫자 1~6(중등·고등은 1~3) 또는 '중2', '2학년', '예비 고2' 같은 표기",
})
class GradeField(serializers.Field):
    """An integer or a notation, passed on as given: the students service parses and checks it (INVALID_GRADE)."""

    default_error_messages = {"invalid": "학년은 숫자이거나 '중2', '예비 고2' 같은 글자여야 합니다."}

    def to_internal_value(self, data):
        if type(data) is int or (type(data) is float and data.is_integer()):
            return int(data)
        if type(data) is str and len(data) <= NOTATION_MAX_LENGTH:
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class StudentInputSerializer(serializers.Serializer):
    # Phones arrive in any human format; the service normalises them and answers INVALID_PHONE.
    name = serializers.CharField(max_length=50)
    parent_phone = serializers.CharField(max_length=30)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    school = serializers.CharField(max_length=100, required=False, allow_blank=True)
    school_type = serializers.ChoiceField(choices=SchoolType.choices, required=False, allow_blank=True)
    grade = GradeField(required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    memo = serializers.CharField(required=False, allow_blank=True)
    birth_date = serializers.DateField(
        required=False, allow_null=True,
        help_text="생년월일(YYYY-MM-DD). 만 14세 미만이면 학생 계정은 보호자 동의가 기록되어야 활성화됩니다.")
    # Full-width digits arrive from Korean IMEs; the service folds them and answers INVALID_STUDENT_NUMBER.
    student_number = serializers.CharField(
        max_length=30, required=False, allow_blank=True,
        help_text="학원이 정하는 숫자 8자리 학생번호(OMR 답안지 식별 번호로 쓸 수 있음). 빈 문자열이면 지웁니다.")


class _StudentListBase(TenantScopedMixin, GenericAPIView):
    filterset_class = StudentFilter
    search_fields = ["name", "school", "phone", "parent_phone"]
    phone_search_fields = ["phone", "parent_phone"]
    ordering_fields = ["id", "name", "grade", "school", "created_at", "deleted_at"]
    serializer_class = StudentOutputSerializer

    def list_response(self):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(StudentOutputSerializer(page, many=True).data)


class StudentListCreateApi(_StudentListBase):
    permission_classes = [StaffWriteAdminDelete]

    def get_tenant_queryset(self, tenant):
        return selectors.student_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="학생 목록",
        description="삭제되지 않은 학생을 쪽 단위로 돌려줍니다. 이름, 학교, 학년, 학교급, 수강 강의로 거르고 "
                    "`search`로 이름과 전화번호를 찾습니다. 원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        responses=StudentOutputSerializer(many=True))
    def get(self, request):
        return self.list_response()

    @extend_schema(
        tags=["학생"], summary="학생 등록",
        description="학생을 등록합니다. 전화번호는 하이픈, 공백 등 어떤 형식이든 받아 숫자로 맞추며, 올바르지 "
                    "않으면 `400 INVALID_PHONE`, 이름과 학부모 전화번호가 같은 학생이 이미 있으면 "
                    "`409 STUDENT_DUPLICATE`입니다. 학생번호는 숫자 8자리(전각 숫자도 받음)이며 아니면 "
                    "`400 INVALID_STUDENT_NUMBER`, 다른 학생이 쓰고 있으면 `409 STUDENT_NUMBER_TAKEN`입니다. "
                    "원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=StudentInputSerializer, responses={201: StudentOutputSerializer})
    def post(self, request):
        serializer = StudentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        student = services.student_create(tenant=self.tenant, **serializer.validated_data)
        return Response(StudentOutputSerializer(student).data, status=status.HTTP_201_CREATED)


class StudentDetailApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [StaffWriteAdminDelete]
    serializer_class = StudentOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.student_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="학생 조회",
        description="학생 한 명을 돌려줍니다. 삭제된 학생과 다른 학원의 id는 `404`입니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        responses=StudentOutputSerializer)
    def get(self, request, pk):
        return Response(StudentOutputSerializer(self.get_object()).data)

    def _update(self, request, partial: bool):
        student = self.get_object()
        serializer = StudentInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        student = services.student_update(student=student, data=serializer.validated_data)
        return Response(StudentOutputSerializer(student).data)

    @extend_schema(
        tags=["학생"], summary="학생 수정",
        description="학생 정보를 통째로 바꿉니다(`name`, `parent_phone` 필수). 올바르지 않은 전화번호는 "
                    "`400 INVALID_PHONE`, 다른 학생과 이름과 학부모 전화번호가 겹치면 "
                    "`409 STUDENT_DUPLICATE`입니다. 학생번호는 숫자 8자리(전각 숫자도 받음)이며 아니면 "
                    "`400 INVALID_STUDENT_NUMBER`, 다른 학생이 쓰고 있으면 `409 STUDENT_NUMBER_TAKEN`입니다. "
                    "원장, 관리자, 강사, 직원이 호출할 수 있습니다.",
        request=StudentInputSerializer, responses=StudentOutputSerializer)
    def put(self, request, pk):
        return self._update(request, partial=False)

    @extend_schema(
        tags=["학생"], summary="학생 일부 수정",
        description="보낸 필드만 바꿉니다. 오류는 학생 수정과 같습니다(`400 INVALID_PHONE`, "
                    "`409 STUDENT_DUPLICATE`, `400 INVALID_STUDENT_NUMBER`, `409 STUDENT_NUMBER_TAKEN`). 원장, "
                    "관리자, 강사, 직원이 호출할 수 있습니다.",
        request=StudentInputSerializer(partial=True), responses=StudentOutputSerializer)
    def patch(self, request, pk):
        return self._update(request, partial=True)

    @extend_schema(
        tags=["학생"], summary="학생 삭제",
        description="학생을 삭제된 학생 목록으로 옮깁니다. 수강과 출결 기록은 남고, 복구하지 않으면 보관 기간(기본 "
                    "30일) 뒤 영구 삭제됩니다. 원장과 관리자만 호출할 수 있습니다.",
        responses={204: None})
    def delete(self, request, pk):
        services.student_soft_delete(student=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class StudentDeletedListApi(_StudentListBase):
    permission_classes = [StaffWriteAdminDelete]

    def get_tenant_queryset(self, tenant):
        return selectors.student_deleted_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="삭제된 학생 목록",
        description="삭제된 학생을 쪽 단위로 돌려줍니다. 필터와 검색은 학생 목록과 같습니다. 원장, 관리자, 강사, "
                    "직원이 호출할 수 있습니다.",
        responses=StudentOutputSerializer(many=True))
    def get(self, request):
        return self.list_response()


class StudentRestoreApi(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantAdmin]
    serializer_class = StudentOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.student_deleted_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="삭제된 학생 복구",
        description="삭제된 학생을 되살립니다. 이름과 학부모 전화번호가 같은 학생이 이미 있으면 "
                    "`409 STUDENT_RESTORE_CONFLICT`, 학생번호를 다른 학생이 쓰고 있으면 `409 STUDENT_NUMBER_TAKEN`, "
                    "삭제되지 않은 학생의 id는 `404`입니다. 원장과 관리자만 호출할 "
                    "수 있습니다.",
        request=None, responses=StudentOutputSerializer)
    def post(self, request, pk):
        student = services.student_restore(student=self.get_object())
        return Response(StudentOutputSerializer(student).data)


class DuplicateGroupOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    parent_phone = serializers.CharField()
    keep_id = serializers.IntegerField(source="keep.id")
    remove_ids = serializers.SerializerMethodField()
    students = StudentOutputSerializer(many=True)

    def get_remove_ids(self, group) -> list[int]:
        return [s.id for s in group.remove]


class StudentDeletedDuplicatesApi(TenantScopedMixin, GenericAPIView):
    """"중복 검사": groups of the caller's tenant's deleted students sharing name and parent phone."""

    permission_classes = [IsTenantAdmin]
    serializer_class = DuplicateGroupOutputSerializer
    pagination_class = None

    def get_tenant_queryset(self, tenant):
        return selectors.student_deleted_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="삭제된 학생 중복 검사",
        description="삭제된 학생 가운데 이름과 학부모 전화번호가 같은 묶음, 그리고 정리하면 지워질 학생 수를 "
                    "돌려줍니다. 아무것도 바꾸지 않습니다. 원장과 관리자만 호출할 수 있습니다.",
        responses=inline_serializer("DeletedDuplicatesOutput", {
            "groups": DuplicateGroupOutputSerializer(many=True),
            "remove_count": serializers.IntegerField(),
        }))
    def get(self, request):
        groups = selectors.student_deleted_duplicates(tenant=self.tenant)
        return Response({
            "groups": DuplicateGroupOutputSerializer(groups, many=True).data,
            "remove_count": sum(len(g.remove) for g in groups),
        })


class StudentDeletedDuplicatesFixApi(TenantScopedMixin, GenericAPIView):
    """"중복 정리": the same service as `manage.py check_deleted_student_duplicates --fix`, for one tenant."""

    permission_classes = [IsTenantAdmin]
    serializer_class = DuplicateGroupOutputSerializer

    def get_tenant_queryset(self, tenant):
        return selectors.student_deleted_list(tenant=tenant)

    @extend_schema(
        tags=["학생"], summary="삭제된 학생 중복 정리",
        description="중복 묶음마다 가장 먼저 삭제된 학생 하나만 남기고 나머지를 수강, 출결 기록과 함께 영구 "
                    "삭제합니다. 되돌릴 수 없습니다. 원장과 관리자만 호출할 수 있습니다.",
        request=None, responses=inline_serializer("DeletedDuplicatesFixOutput", {
            "groups": serializers.IntegerField(),
            "deleted_ids": serializers.ListField(child=serializers.IntegerField()),
            "kept_ids": serializers.ListField(child=serializers.IntegerField()),
        }))
    def post(self, request):
        result = services.student_deleted_duplicates_fix(tenant=self.tenant)
        return Response({
            "groups": len(result.groups),
            "deleted_ids": result.deleted_ids,
            "kept_ids": [g.keep.id for g in result.groups],
        })
