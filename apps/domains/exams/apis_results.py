"""Exam review and results HTTP API (ARCHITECTURE §4 AI, exams): sheets to review, results, statistics, publishing
and the results export. Staff only; another academy's exam or sheet is a 404."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from apps.core.exceptions import DomainError
from apps.core.fields import IdField, JsonObjectField
from apps.core.permissions import IsTenantStaff
from apps.core.tenancy import TenantScopedMixin
from apps.domains.exams import results, results_export, results_selectors, selectors
from apps.domains.exams.apis import ROLES_STAFF, ExamOutputSerializer
from apps.domains.exams.models import CHOICE_COUNTS, MAX_QUESTIONS, ExamSheet, SheetStatus
from apps.jobs.models import JobState

TAG = "시험"
_CHOICE = {"type": "integer", "minimum": 1, "maximum": max(CHOICE_COUNTS)}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField()

    class Meta:
        ref_name = "ExamResultsError"


class StudentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SheetOutputSerializer(serializers.ModelSerializer):
    reasons = serializers.ListField(source="review_reasons", child=serializers.CharField())
    student = serializers.SerializerMethodField()
    answers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                    help_text="문항 순서대로 표시한 보기 번호 목록(빈 목록은 무응답)")
    states = serializers.ListField(child=serializers.CharField(), help_text="문항별 ONE/BLANK/MULTIPLE/UNCERTAIN")
    fills = JsonObjectField(help_text="보기별 채움 값(검토 화면의 겹쳐 그리기용)")
    score = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField(
        help_text="정렬된 답안지 이미지의 짧은 서명 URL, 없거나 삭제되면 null")

    class Meta:
        model = ExamSheet
        fields = ["id", "scan_id", "page_number", "status", "reasons", "student", "identifier", "answers", "states",
                  "fills", "alignment_quality", "score", "correct_count", "graded_revision", "image_url",
                  "reviewed_at", "created_at"]

    @extend_schema_field(StudentRefSerializer(allow_null=True))
    def get_student(self, sheet):
        if sheet.student is None:
            return None
        return {"id": sheet.student.id, "name": sheet.student.name}

    def get_score(self, sheet) -> float | None:
        return None if sheet.score is None else float(sheet.score)

    def get_image_url(self, sheet) -> str | None:
        return results_selectors.sheet_image_url(sheet)


class _ExamScoped(TenantScopedMixin, GenericAPIView):
    permission_classes = [IsTenantStaff]

    def get_tenant_queryset(self, tenant):
        return selectors.exam_list(tenant=tenant)

    def exam(self):
        # The tenant-scoped lookup every exam route uses: another academy's exam is a plain 404 NOT_FOUND.
        return self.get_object()


class SheetListApi(_ExamScoped):
    serializer_class = SheetOutputSerializer

    @extend_schema(
        tags=[TAG], summary="답안지 목록(검토)",
        description="시험의 답안지를 스캔과 쪽 순서로 쪽 단위로 돌려줍니다. `status=REVIEW`로 검토가 필요한 답안지만 "
                    "봅니다. 답안지마다 검토 사유(`reasons`), 학생, 읽은 식별 번호, 문항별 표시와 판정, 보기별 채움 "
                    "값, 정렬 품질, 점수, 몇 분 동안만 유효한 정렬 이미지 URL(보관 기간이 지나 지웠으면 null)이 "
                    f"있습니다. {ROLES_STAFF}",
        parameters=[OpenApiParameter("status", str, enum=SheetStatus.values, required=False,
                                     description="GRADED, REVIEW, UNREADABLE 가운데 하나")],
        responses=SheetOutputSerializer(many=True))
    def get(self, request, pk):
        exam = self.exam()
        wanted = request.query_params.get("status")
        if wanted is not None and wanted not in SheetStatus.values:
            raise DomainError("VALIDATION_ERROR", "답안지 상태는 GRADED, REVIEW, UNREADABLE 가운데 하나입니다.",
                              details={"status": ["허용되지 않는 값입니다."]})
        sheets = results_selectors.exam_sheet_list(tenant=self.tenant, exam=exam, status=wanted)
        page = self.paginate_queryset(sheets)
        return self.get_paginated_response(SheetOutputSerializer(page, many=True).data)


@extend_schema_field({"type": "array", "maxItems": MAX_QUESTIONS,
                      "items": {"type": "array", "items": _CHOICE, "maxItems": max(CHOICE_COUNTS)}})
class SheetAnswersField(serializers.JSONField):
    """Any JSON here: apps.domains.exams.results checks it against the exam and answers SHEET_ANSWERS_INVALID."""


class SheetReviewInputSerializer(serializers.Serializer):
    student_id = IdField(required=False, allow_null=True, help_text="이 답안지의 학생(시험 강의의 수강생)")
    answers = SheetAnswersField(
        required=False,
        help_text=f"문항 수만큼, 문항마다 표시한 보기 번호의 목록(빈 목록은 무응답, 두 개 이상은 오답). 최대 "
                  f"{MAX_QUESTIONS}문항.")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("student_id 또는 answers 가운데 하나는 보내야 합니다.")
        return attrs


class SheetDetailApi(_ExamScoped):
    serializer_class = SheetOutputSerializer

    @extend_schema(tags=[TAG], summary="답안지 조회",
                   description=f"답안지 하나를 돌려줍니다. 다른 시험이나 학원의 답안지는 `404 SHEET_NOT_FOUND`입니다. "
                               f"{ROLES_STAFF}",
                   responses=SheetOutputSerializer)
    def get(self, request, pk, sheet_id):
        return Response(SheetOutputSerializer(results_selectors.exam_sheet_get(exam=self.exam(),
                                                                               sheet_id=sheet_id)).data)

    @extend_schema(
        tags=[TAG], summary="답안지 검토",
        description="답안지의 학생(`student_id`)이나 전체 답안(`answers`)을 고칩니다. 고친 답안지는 다시 채점되고, "
                    "학생이 정해졌고 불확실한 표시가 남지 않았으면 채점 완료(GRADED)가 됩니다. 선생님이 본 것이므로 "
                    "정렬·화질 사유는 사라집니다. 같은 학생의 채점 완료 답안지가 이미 있으면 검토(REVIEW)로 남고 "
                    "사유는 `DUPLICATE_STUDENT`입니다. 수강생이 아니면 `400 STUDENT_NOT_ENROLLED`, 없는 학생은 "
                    "`404 STUDENT_NOT_FOUND`, 잘못된 답안은 `400 SHEET_ANSWERS_INVALID`, 작성 중 시험은 "
                    "`409 EXAM_NOT_OPEN`입니다. 결과 공개 뒤 고치면 시험의 `revision`이 올라 결과가 수정됨으로 "
                    f"표시됩니다. 정답을 바꿔 다시 채점해도 검토한 답안은 그대로입니다. {ROLES_STAFF}",
        request=SheetReviewInputSerializer, responses={
            200: SheetOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="VALIDATION_ERROR, STUDENT_NOT_ENROLLED, "
                                                              "SHEET_ANSWERS_INVALID"),
            404: OpenApiResponse(ErrorSerializer, description="NOT_FOUND(시험), SHEET_NOT_FOUND, STUDENT_NOT_FOUND"),
            409: OpenApiResponse(ErrorSerializer, description="EXAM_NOT_OPEN"),
        })
    def patch(self, request, pk, sheet_id):
        exam = self.exam()
        serializer = SheetReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sheet = results.exam_sheet_review(exam=exam, sheet_id=sheet_id, data=serializer.validated_data,
                                          by=request.user)
        return Response(SheetOutputSerializer(results_selectors.exam_sheet_get(exam=exam, sheet_id=sheet.id)).data)


# ---------------------------------------------------------------------------------------------------- results

class AnswerResultSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    marked = serializers.ListField(child=serializers.IntegerField())
    key = serializers.ListField(child=serializers.IntegerField(), allow_null=True,
                                help_text="정답 보기 목록, 무효 문항은 null")
    correct = serializers.BooleanField()
    points = serializers.FloatField(help_text="얻은 점수")


class StudentResultSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    student_name = serializers.CharField()
    sheet_id = serializers.IntegerField()
    score = serializers.FloatField()
    correct_count = serializers.IntegerField()
    rank = serializers.IntegerField(help_text="동점은 같은 등수(1, 2, 2, 4)")
    percentile = serializers.FloatField(help_text="백분위: 100 × (아래 인원 + 동점 인원의 절반) / 응시 인원")
    answers = AnswerResultSerializer(many=True)


class MissingStudentSerializer(serializers.Serializer):
    student_id = serializers.IntegerField()
    student_name = serializers.CharField()


class ResultsSerializer(serializers.Serializer):
    exam_id = serializers.IntegerField()
    title = serializers.CharField()
    max_score = serializers.FloatField()
    revision = serializers.IntegerField()
    published_revision = serializers.IntegerField(allow_null=True)
    revised = serializers.BooleanField(help_text="공개 뒤 정답·배점·답안이 바뀌었으면 true")
    review_count = serializers.IntegerField(help_text="아직 검토가 필요한 답안지 수(결과에 들어가지 않음)")
    results = StudentResultSerializer(many=True)
    missing = MissingStudentSerializer(many=True, help_text="채점된 답안지가 없는 수강생")


class ResultsApi(_ExamScoped):
    serializer_class = ResultsSerializer

    @extend_schema(
        tags=[TAG], summary="시험 결과",
        description="채점 완료 답안지가 있는 학생마다 점수, 맞은 문항 수, 등수(동점은 같은 등수), 백분위, 문항별 "
                    "표시·정답·정오를 점수 순으로 돌려줍니다. `missing`은 답안지가 없는 수강생, `review_count`는 "
                    f"검토를 기다리는 답안지 수, `revised`는 공개 뒤 결과가 바뀌었는지입니다. {ROLES_STAFF}",
        responses=ResultsSerializer)
    def get(self, request, pk):
        return Response(ResultsSerializer(results_selectors.exam_results(exam=self.exam())).data)


class ChoiceCountSerializer(serializers.Serializer):
    choice = serializers.IntegerField()
    count = serializers.IntegerField()


class QuestionStatsSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    key = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    correct_rate = serializers.FloatField(allow_null=True, help_text="정답률(0~1), 응시자가 없으면 null")
    correct_count = serializers.IntegerField()
    choices = ChoiceCountSerializer(many=True, help_text="보기별로 그 보기 하나만 표시한 인원")
    blank = serializers.IntegerField(help_text="무응답 인원")
    multiple = serializers.IntegerField(help_text="두 개 이상 표시한 인원")


class StatsSerializer(serializers.Serializer):
    exam_id = serializers.IntegerField()
    max_score = serializers.FloatField()
    count = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    median = serializers.FloatField(allow_null=True)
    std_dev = serializers.FloatField(allow_null=True, help_text="모표준편차")
    max = serializers.FloatField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    questions = QuestionStatsSerializer(many=True)


class StatsApi(_ExamScoped):
    serializer_class = StatsSerializer

    @extend_schema(
        tags=[TAG], summary="시험 통계",
        description="채점 완료 답안지의 인원, 평균, 중앙값, 모표준편차, 최고·최저 점수와 문항별 정답률, 보기별 "
                    f"선택 인원, 무응답과 중복 표시 인원을 돌려줍니다. 응시자가 없으면 값은 null입니다. {ROLES_STAFF}",
        responses=StatsSerializer)
    def get(self, request, pk):
        return Response(StatsSerializer(results_selectors.exam_stats(exam=self.exam())).data)


# ---------------------------------------------------------------------------------------------------- publish

class PublishInputSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="검토가 남은 답안지를 빼고 공개합니다")
    notify_parents = serializers.BooleanField(required=False, default=False,
                                              help_text="학부모에게 점수 알림(성적 발표 자동 알림 설정)을 보냅니다")


class RefusalSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class PublishOutputSerializer(serializers.Serializer):
    exam = ExamOutputSerializer()
    notified = serializers.IntegerField(allow_null=True, help_text="보낸 문자 발송의 id, 보내지 않았으면 null")
    refusal = RefusalSerializer(allow_null=True, help_text="알림을 보내지 못한 이유(공개는 그대로 됩니다)")


class PublishApi(_ExamScoped):
    serializer_class = PublishOutputSerializer

    @extend_schema(
        tags=[TAG], summary="시험 결과 공개",
        description="답안 접수 중(OPEN) 시험의 결과를 공개(PUBLISHED)합니다. 정답이 바뀐 뒤 다시 공개하면 결과가 "
                    "최신으로 표시됩니다. 검토가 남은 답안지가 있으면 `409 SHEETS_IN_REVIEW`이고, `force: true`면 "
                    "그 답안지를 빼고 공개합니다. 작성 중 시험은 `409 EXAM_NOT_OPEN`입니다. `notify_parents: true`면 "
                    "성적 발표 자동 알림으로 학생마다 `#{점수}`, `#{시험명}`을 채워 학부모에게 보내며, 같은 정답 "
                    "판(revision)에는 한 번만 보냅니다. 알림이 꺼져 있거나 잔액 부족 같은 이유로 보내지 못하면 "
                    f"공개는 그대로 되고 `refusal`에 코드가 옵니다. {ROLES_STAFF}",
        request=PublishInputSerializer, responses={
            200: PublishOutputSerializer,
            409: OpenApiResponse(ErrorSerializer, description="EXAM_NOT_OPEN, SHEETS_IN_REVIEW"),
        })
    def post(self, request, pk):
        serializer = PublishInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = results.exam_publish(exam=self.exam(), by=request.user, **serializer.validated_data)
        exam = selectors.exam_get(tenant=self.tenant, exam_id=outcome.exam.id)
        return Response(PublishOutputSerializer({"exam": exam, "notified": outcome.notified,
                                                 "refusal": outcome.refusal}).data)


class ExportAcceptedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobState.choices)

    class Meta:
        ref_name = "ExamResultsExportAccepted"


class ResultsExportApi(_ExamScoped):
    serializer_class = ExportAcceptedSerializer

    @extend_schema(
        tags=[TAG], summary="시험 결과 엑셀 내보내기",
        description="결과(등수, 학생, 점수, 맞은 문항 수, 백분위, 문항별 정오와 표시)를 xlsx로 쓰는 작업을 만들고 "
                    "`202`와 `job_id`를 돌려줍니다. 끝난(`DONE`) 작업의 `result.download_url`로 내려받습니다. "
                    f"{ROLES_STAFF}",
        request=None, responses={
            202: ExportAcceptedSerializer,
            503: OpenApiResponse(ErrorSerializer, description="EXAM_EXPORT_ENQUEUE_FAILED (details.job_id)"),
        })
    def post(self, request, pk):
        job = results_export.exam_results_export_submit(tenant=self.tenant, exam=self.exam(),
                                                        created_by=request.user)
        return Response({"job_id": str(job.id), "status": job.state}, status=status.HTTP_202_ACCEPTED)
