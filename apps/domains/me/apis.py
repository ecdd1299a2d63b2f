"""Issue 14, `/api/v1/me/…` for students and parents: who am I, lectures, calendar, attendance, exam results, messages.

Every endpoint resolves the subject student with `me_subject` (a parent names a child with `?student=<id>`), reads
through apps/domains/me/selectors.py and pages with the project's pagination at a constant number of queries.
"""

from datetime import date, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.exceptions import DomainError
from apps.core.fields import PG_BIGINT_MAX, IdField
from apps.core.models import Role
from apps.core.tenancy import TenantScopedMixin
from apps.domains.enrollment.apis import AttendanceCountsSerializer
from apps.domains.enrollment.models import AttendanceStatus, EnrollmentStatus
from apps.domains.exams.models import StudentResultDisplay
from apps.domains.exams.selectors import exam_settings_get
from apps.domains.lectures.apis import ClockTimeField
from apps.domains.me import selectors
from apps.domains.me.subject import STUDENT_PARAM, IsStudentOrParent, me_subject
from apps.domains.messaging.models import ConsentHolder, RecipientStatus
from apps.domains.students.models import Student

TAG = "내 정보"
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": PG_BIGINT_MAX}
STUDENT_PARAMETER = OpenApiParameter(
    STUDENT_PARAM, ID_SCHEMA, description="학부모가 볼 자녀의 학생 id (자녀가 한 명이면 생략 가능, 둘 이상이면 필수: "
                                    "`400 ME_STUDENT_REQUIRED`). 자기 자녀가 아닌 id는 `404`입니다. 학생은 "
                                    "생략합니다(자기 id만 허용).")
WHO = ("학생(본인)과 학부모(`?student=`로 고른 자녀)만 호출할 수 있고, 직원은 "
       "`403 ME_STUDENTS_AND_PARENTS_ONLY`입니다.")
MARK_HELP = "출결: `UNMARKED`(미확인, 출결 기록이 없는 회차 포함), `PRESENT`, `LATE`, `ABSENT`, `EXCUSED`"
# The widest calendar one request may ask for: a school term.
MAX_CALENDAR_DAYS = 92
DEFAULT_CALENDAR_DAYS = 30


def me_schema(summary: str, description: str, **kwargs):
    parameters = [STUDENT_PARAMETER, *kwargs.pop("parameters", [])]
    return extend_schema(tags=[TAG], summary=summary, description=f"{description} {WHO}", parameters=parameters,
                         **kwargs)


class MeApi(TenantScopedMixin, GenericAPIView):
    """The views read the subject's rows through apps/domains/me/selectors.py (every one of them within the
    subject's tenant, which is the user's); `get_tenant_queryset` names the model the schema generator asks for."""

    permission_classes = [IsStudentOrParent]
    # No search or ordering parameters: each list has one order, stated in its description.
    filter_backends: list = []
    schema_model = Student

    def get_tenant_queryset(self, tenant):
        return self.schema_model.objects.filter(tenant=tenant)


def _row_of(user, name: str):
    """The user's student or parent row (joined when the user was loaded), None when there is none."""
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:
        return None


def _teacher_name(lecture) -> str | None:
    teacher = lecture.teacher
    return (teacher.get_full_name() or None) if teacher else None


# ---------------------------------------------------------------------------------------------------- who am I

class ChildSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    school = serializers.CharField()
    grade = serializers.IntegerField(allow_null=True)


class TenantBriefSerializer(serializers.Serializer):
    name = serializers.CharField()
    code = serializers.CharField()


class MeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=[Role.STUDENT, Role.PARENT])
    username = serializers.CharField()
    name = serializers.CharField(help_text="학생은 학생 이름, 학부모는 등록된 이름 (없으면 빈 문자열)")
    tenant = TenantBriefSerializer()
    student = ChildSerializer(allow_null=True, help_text="학생 계정의 학생 (연결된 학생이 없으면 null); 학부모는 null")
    children = ChildSerializer(many=True, allow_null=True,
                               help_text="학부모의 자녀 목록 (학원을 떠난 자녀 제외, 이름순); 학생은 null")


class MeRootApi(MeApi):
    serializer_class = MeSerializer

    @extend_schema(
        tags=[TAG], summary="내 계정",
        description="로그인한 학생이나 학부모가 누구인지(역할, 이름, 학원 이름과 코드) 돌려줍니다. 학생은 자기 학생 "
                    "정보를, 학부모는 자녀 목록(`children`: 화면의 자녀 선택용, 학원을 떠난 자녀 제외)을 받습니다. "
                    "`?student`를 받지 않습니다. 학생과 학부모만 호출할 수 있고, 직원은 "
                    "`403 ME_STUDENTS_AND_PARENTS_ONLY`입니다.",
        responses=MeSerializer)
    def get(self, request):
        user = request.user
        data = {"role": user.role, "username": user.username, "tenant": user.tenant,
                "student": None, "children": None, "name": ""}
        if user.role == Role.STUDENT:
            student = _row_of(user, "student")
            if student is not None and student.deleted_at is None and student.tenant_id == user.tenant_id:
                data["student"], data["name"] = student, student.name
        else:
            parent = _row_of(user, "parent")
            data["children"] = [] if parent is None else selectors.me_children(
                parent_id=parent.id, tenant_id=user.tenant_id)
            data["name"] = parent.name if parent is not None else ""
        return Response(MeSerializer(data).data)


# ---------------------------------------------------------------------------------------------------- lectures

class MeLectureSerializer(serializers.Serializer):
    lecture_id = serializers.IntegerField()
    title = serializers.CharField(source="lecture.title")
    subject = serializers.CharField(source="lecture.subject")
    teacher_name = serializers.SerializerMethodField()
    start_date = serializers.DateField(source="lecture.start_date", allow_null=True)
    end_date = serializers.DateField(source="lecture.end_date", allow_null=True)
    enrollment_id = serializers.IntegerField(source="id")
    enrollment_status = serializers.ChoiceField(source="status", choices=EnrollmentStatus.choices)
    enrolled_at = serializers.DateTimeField()

    def get_teacher_name(self, enrollment) -> str | None:
        return _teacher_name(enrollment.lecture)


class MeLectureListApi(MeApi):
    serializer_class = MeLectureSerializer

    @me_schema("내 강의 목록",
               "수강 중(`ACTIVE`)인 강의를 강사 이름, 기간, 수강 등록 정보와 함께 제목순으로 쪽 단위로 돌려줍니다. "
               "보관된 강의와 휴강, 수강 취소, 수료한 강의는 나오지 않습니다.",
               responses=MeLectureSerializer(many=True))
    def get(self, request):
        subject = me_subject(request)
        page = self.paginate_queryset(selectors.me_enrollments(student=subject.student))
        return self.get_paginated_response(MeLectureSerializer(page, many=True).data)


# ---------------------------------------------------------------------------------------------------- calendar

class MeSessionSerializer(serializers.Serializer):
    session_id = serializers.IntegerField(source="id")
    lecture_id = serializers.IntegerField()
    lecture_title = serializers.CharField(source="lecture.title")
    order = serializers.IntegerField()
    title = serializers.CharField()
    date = serializers.DateField()
    start_time = ClockTimeField(allow_null=True)
    end_time = ClockTimeField(allow_null=True)
    attendance = serializers.ChoiceField(source="mark", choices=AttendanceStatus.choices, help_text=MARK_HELP)


def _query_date(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return serializers.DateField().to_internal_value(raw)
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from exc


def calendar_range(request) -> tuple[date, date]:
    """[from, to] of ?from=&to=: today (Asia/Seoul) to 30 days later by default, at most 92 days."""
    start = _query_date(request, "from")
    end = _query_date(request, "to")
    if start is None:
        start = timezone.localdate() if end is None else end - timedelta(days=DEFAULT_CALENDAR_DAYS)
    if end is None:
        end = start + timedelta(days=DEFAULT_CALENDAR_DAYS)
    if end < start:
        raise DomainError("INVALID_DATE_RANGE", "종료일은 시작일보다 빠를 수 없습니다.",
                          details={"from": start.isoformat(), "to": end.isoformat()})
    if (end - start).days > MAX_CALENDAR_DAYS:
        raise DomainError("DATE_RANGE_TOO_LONG", f"한 번에 {MAX_CALENDAR_DAYS}일까지 조회할 수 있습니다.",
                          details={"max_days": MAX_CALENDAR_DAYS})
    return start, end


class MeSessionListApi(MeApi):
    serializer_class = MeSessionSerializer

    @me_schema("내 수업 일정",
               "수강 중인 강의의 회차 가운데 날짜가 `from`..`to`(둘 다 포함)인 것을 날짜, 시작 시각순으로 쪽 단위로 "
               "돌려줍니다. 회차마다 수업 시각(없으면 null)과 내 출결(기록이 없으면 `UNMARKED`)이 있습니다. "
               "기본은 오늘(한국 시간)부터 30일 뒤까지이고, 한 번에 92일까지 조회합니다(넘으면 "
               "`400 DATE_RANGE_TOO_LONG`, 종료일이 시작일보다 빠르면 `400 INVALID_DATE_RANGE`, 날짜 형식 오류는 "
               "`400 VALIDATION_ERROR`). 날짜가 없는 회차는 나오지 않습니다.",
               parameters=[OpenApiParameter("from", date, description="시작일 YYYY-MM-DD (기본: 오늘)"),
                           OpenApiParameter("to", date, description="종료일 YYYY-MM-DD (기본: 시작일 + 30일)")],
               responses=MeSessionSerializer(many=True))
    def get(self, request):
        start, end = calendar_range(request)
        subject = me_subject(request)
        page = self.paginate_queryset(selectors.me_sessions(student=subject.student, start=start, end=end))
        return self.get_paginated_response(MeSessionSerializer(page, many=True).data)


# ---------------------------------------------------------------------------------------------------- attendance

class MeAttendanceSessionSerializer(serializers.Serializer):
    session_id = serializers.IntegerField(source="id")
    order = serializers.IntegerField()
    title = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    start_time = ClockTimeField(allow_null=True)
    end_time = ClockTimeField(allow_null=True)
    status = serializers.ChoiceField(source="mark", choices=AttendanceStatus.choices, help_text=MARK_HELP)


class MeAttendanceLectureSerializer(serializers.Serializer):
    lecture_id = serializers.IntegerField(source="lecture.id")
    title = serializers.CharField(source="lecture.title")
    subject = serializers.CharField(source="lecture.subject")
    enrollment_status = serializers.ChoiceField(source="enrollment.status", choices=EnrollmentStatus.choices)
    counts = AttendanceCountsSerializer(help_text="이 강의 회차의 상태별 수")
    rate = serializers.FloatField(allow_null=True,
                                  help_text="출석률 0..1: (출석+지각) / (출석+지각+결석), 공결과 미확인 제외; "
                                            "셀 회차가 없으면 null")
    sessions = MeAttendanceSessionSerializer(many=True)


class MeAttendanceApi(MeApi):
    serializer_class = MeAttendanceLectureSerializer

    @me_schema("내 출결",
               "수강 중인 강의마다 회차별 내 출결(기록이 없으면 `UNMARKED`), 상태별 수와 출석률을 강의 단위로 쪽을 "
               "나눠 돌려줍니다. 회차는 날짜가 오늘(한국 시간) 이전인 것과, 날짜가 없거나 이후라도 출결이 입력된 "
               "것이 나옵니다. 출석률 = (출석+지각) / (출석+지각+결석)이며 공결과 미확인은 빠지고, 해당 회차가 "
               "없으면 null입니다. `?lecture=`로 한 강의만 고르며, 수강 중이 아닌 강의는 `404 LECTURE_NOT_FOUND`"
               "입니다.",
               parameters=[OpenApiParameter("lecture", ID_SCHEMA, description="한 강의의 id로 거르기")],
               responses=MeAttendanceLectureSerializer(many=True))
    def get(self, request):
        lecture_id = None
        if request.query_params.get("lecture") not in (None, ""):
            lecture_field = IdField()
            try:
                lecture_id = lecture_field.run_validation(request.query_params["lecture"])
            except ValidationError as exc:
                raise ValidationError({"lecture": exc.detail}) from exc
        subject = me_subject(request)
        enrollments = selectors.me_attendance_enrollments(student=subject.student, lecture_id=lecture_id)
        page = self.paginate_queryset(enrollments)
        if lecture_id is not None and not page:
            raise selectors.MeLectureNotFoundError(details={"lecture_id": lecture_id})
        rows = selectors.me_attendance_of(student=subject.student, enrollments=list(page),
                                          today=timezone.localdate())
        return self.get_paginated_response(MeAttendanceLectureSerializer(rows, many=True).data)


# ---------------------------------------------------------------------------------------------------- exams

class MeExamSerializer(serializers.Serializer):
    exam_id = serializers.IntegerField(source="exam.id")
    title = serializers.CharField(source="exam.title")
    date = serializers.DateField(source="exam.date")
    lecture_id = serializers.IntegerField(source="exam.lecture_id")
    lecture_title = serializers.CharField(source="exam.lecture.title")
    score = serializers.FloatField(allow_null=True)
    max_score = serializers.FloatField()
    correct_count = serializers.IntegerField(allow_null=True)
    display = serializers.ChoiceField(choices=StudentResultDisplay.choices,
                                      help_text="학원이 고른 결과 표시: `RANK`, `PERCENTILE`, `SCORE_ONLY`")
    rank = serializers.IntegerField(allow_null=True, help_text="석차 (동점은 같은 석차: 1, 2, 2, 4); `RANK`일 때만")
    ranked_count = serializers.IntegerField(allow_null=True, help_text="석차를 낸 응시자 수; `RANK`일 때만")
    percentile = serializers.FloatField(
        allow_null=True, help_text="백분위 0..100, 높을수록 잘한 것 (100 × (아래 인원 + 동점 인원의 절반) / 응시자 "
                                   "수); `PERCENTILE`일 때만")
    revised = serializers.BooleanField(help_text="공개 뒤 정답이나 채점이 바뀌어 결과가 수정됨")
    published_at = serializers.DateTimeField(source="exam.published_at", allow_null=True)


class WrongAnswerSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="문항 번호 (1부터)")
    marked = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                   help_text="내가 고른 보기 (빈 목록은 무응답, null은 판독 불명)")
    key = serializers.ListField(child=serializers.IntegerField(), allow_null=True, help_text="정답으로 인정한 보기")
    points = serializers.FloatField(help_text="문항 배점")


class MeExamDetailSerializer(MeExamSerializer):
    question_count = serializers.IntegerField()
    wrong_answers = WrongAnswerSerializer(many=True)


class MeExamListApi(MeApi):
    serializer_class = MeExamSerializer

    @me_schema("내 시험 결과",
               "공개(`PUBLISHED`)된 시험 가운데 내 답안지가 채점된 것의 점수를 최근 시험부터 쪽 단위로 돌려줍니다. "
               "학원의 시험 설정(`student_result_display`)에 따라 석차(`RANK`) 또는 백분위(`PERCENTILE`, 기본)가 "
               "함께 나오고, `SCORE_ONLY`면 둘 다 null입니다. 공개 뒤 결과가 바뀐 시험은 `revised`가 true입니다.",
               responses=MeExamSerializer(many=True))
    def get(self, request):
        subject = me_subject(request)
        page = self.paginate_queryset(selectors.me_exams(student=subject.student))
        display = exam_settings_get(tenant=request.user.tenant).student_result_display
        rows = selectors.me_exam_rows(student=subject.student, exams=list(page), display=display)
        return self.get_paginated_response(MeExamSerializer(rows, many=True).data)


class MeExamDetailApi(MeApi):
    serializer_class = MeExamDetailSerializer

    @me_schema("내 시험 결과 상세",
               "공개된 시험 하나의 내 결과와 틀린 문항(문항 번호, 내 답, 정답, 배점)을 돌려줍니다. 공개되지 않았거나 "
               "내 답안지가 없는 시험, 다른 학원의 시험은 `404 NOT_FOUND`입니다.",
               responses=MeExamDetailSerializer)
    def get(self, request, exam_id):
        subject = me_subject(request)
        display = exam_settings_get(tenant=request.user.tenant).student_result_display
        row = selectors.me_exam_detail(student=subject.student, exam_id=exam_id, display=display)
        return Response(MeExamDetailSerializer(row).data)


# ---------------------------------------------------------------------------------------------------- messages

class MeMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sent_at = serializers.DateTimeField(source="shown_at", help_text="보낸 시각 (발송 전에 실패했으면 요청 시각)")
    audience = serializers.ChoiceField(source="role", choices=ConsentHolder.choices,
                                       help_text="받는 사람: `student` 학생, `parent` 학부모(나)")
    type = serializers.SerializerMethodField(help_text="`SMS`, `LMS`, `ATA`(알림톡)")
    kind = serializers.CharField(source="send.trigger",
                                 help_text="보낸 까닭: `manual`(직원이 보냄), `absence`, `late`, `exam_published` 등")
    status = serializers.ChoiceField(choices=RecipientStatus.choices)
    subject = serializers.CharField()
    text = serializers.CharField(help_text="받은 문자 내용 (보관 기간이 지나면 가려짐)")

    def get_type(self, recipient) -> str:
        return recipient.sent_type or recipient.type


class MeMessageListApi(MeApi):
    serializer_class = MeMessageSerializer

    @me_schema("받은 문자",
               "학원이 보낸 문자를 최근 것부터 쪽 단위로 돌려줍니다. 학생은 학생에게 보낸 문자만 보고 학부모에게 "
               "보낸 문자는 보지 않습니다. 학부모는 그 자녀에게 보낸 문자와 이 자녀에 관해 자기 번호로 받은 문자를 "
               "봅니다. 발송 전(대기, 예약, 취소)인 문자는 나오지 않으며, 전화번호는 돌려주지 않습니다.",
               responses=MeMessageSerializer(many=True))
    def get(self, request):
        subject = me_subject(request)
        parent = _row_of(request.user, "parent") if subject.is_parent else None
        rows = selectors.me_messages(subject=subject, parent_phone=parent.phone if parent else None)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MeMessageSerializer(page, many=True).data)
