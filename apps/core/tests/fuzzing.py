"""Schema fuzzing support shared by test_fuzz_schema.py (in `make test`) and scripts/fuzz_api.py (the deeper run).

Requests go through the WSGI app in-process (no port). The admin of one tenant sends them, with a JWT; internal
worker and Lambda operations get their own token headers, as their callers send them.
"""

import os
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode

from apps.core.models import User

# Examples per operation in `make test`: about 56 operations x 12 keeps the run under a minute on 2 cores.
TEST_MAX_EXAMPLES = 12
# scripts/fuzz_api.py sets these for a deeper run (they are not Django settings: only that script reads them).
MAX_EXAMPLES_ENV = "FUZZ_MAX_EXAMPLES"
NEGATIVE_ENV = "FUZZ_NEGATIVE"
BOUNDARIES_ENV = "FUZZ_BOUNDARIES"

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@dataclass
class TenantWorld:
    """Real rows of one tenant, so operations on an id reach objects instead of 404."""

    admin: User
    path_ids: dict[str, dict[str, object]] = field(default_factory=dict)  # path prefix → path parameter values
    # The student login that sends the /api/v1/me/ operations (staff are refused there).
    student_user: User | None = None

    @classmethod
    def build(cls, *, admin: User) -> "TenantWorld":
        from apps.domains.enrollment.models import Attendance, Enrollment
        from apps.domains.exams.models import Exam
        from apps.domains.lectures.models import Lecture, Session
        from apps.domains.students.models import Student
        from apps.domains.video.models import Video
        from apps.jobs.models import Job, JobState

        tenant = admin.tenant
        student = Student.objects.create(tenant=tenant, name="김민준", parent_phone="01090000001", grade=2)
        Student.objects.create(tenant=tenant, name="이서연", parent_phone="01090000002")
        lecture = Lecture.objects.create(tenant=tenant, title="수학 A반", teacher=admin)
        session = Session.objects.create(tenant=tenant, lecture=lecture, order=1, title="1회차")
        enrollment = Enrollment.objects.create(tenant=tenant, lecture=lecture, student=student)
        Attendance.objects.create(tenant=tenant, session=session, enrollment=enrollment, status="PRESENT")
        video = Video.objects.create(tenant=tenant, title="1강", lecture=lecture, session=session, filename="1강.mp4",
                                     safe_filename="1.mp4", size=1024, content_type="video/mp4", created_by=admin)
        job = Job.objects.create(tenant=tenant, kind="excel_import", state=JobState.RUNNING, payload={"n": 1},
                                 attempts=1, started_at=timezone.now(), heartbeat_at=timezone.now(),
                                 created_by=admin)
        from apps.domains.messaging.models import MessageRecipient, MessageSend

        send = MessageSend.objects.create(tenant=tenant, created_by=admin, body="안내", recipient_count=1,
                                          selection={"student_ids": [student.id]})
        MessageRecipient.objects.create(tenant=tenant, send=send, student=student, role="parent",
                                        phone=student.parent_phone, text="안내", type="SMS")
        # A delivered text to the student: what /api/v1/me/messages/ lists.
        MessageRecipient.objects.create(tenant=tenant, send=send, student=student, role="student",
                                        phone="01090000003", text="안내", type="SMS", status="DELIVERED",
                                        sent_at=timezone.now())
        catalog = _messaging_catalog(tenant, student)
        exam = Exam.objects.create(tenant=tenant, lecture=lecture, session=session, title="3월 단원평가",
                                   date=timezone.localdate(), question_count=5, answer_key=[1, 2, 3, 4, 5])
        parent = _parent_of(student)
        student_user = User.objects.create_user(username=f"{tenant.code}-{student.id}", password="pw-12345678",
                                                tenant=tenant, role="student")
        student.user = student_user
        student.save(update_fields=["user"])
        return cls(admin=admin, student_user=student_user, path_ids={
            "/api/v1/me/exams/{exam_id}": {"exam_id": exam.id},
            **catalog,
            "/api/v1/parents/{id}": {"id": parent.id, "student_id": student.id},
            "/api/v1/messaging/sends/{id}": {"id": send.id},
            "/api/v1/students/{id}": {"id": student.id},
            "/api/v1/lectures/{lecture_id}": {"lecture_id": lecture.id},
            "/api/v1/lectures/{id}": {"id": lecture.id},
            "/api/v1/sessions/{id}": {"id": session.id},
            "/api/v1/enrollments/{id}": {"id": enrollment.id},
            "/api/v1/videos/{id}": {"id": video.id},
            "/api/v1/exams/{id}": {"id": exam.id},
            "/api/v1/jobs/{job_id}": {"job_id": str(job.id)},
            "/api/v1/enrollments/excel_job_status/{job_id}": {"job_id": str(job.id)},
            "/api/v1/internal/jobs/{job_id}": {"job_id": str(job.id)},
        })

    def real_path_parameters(self, path: str) -> dict[str, object]:
        return next((ids for prefix, ids in self.path_ids.items() if path.startswith(prefix)), {})

    def headers(self, path: str) -> dict[str, str]:
        if path.startswith("/api/v1/internal/video/"):
            return {"X-Internal-Key": settings.LAMBDA_INTERNAL_API_KEY}
        if path.startswith("/api/v1/internal/"):
            return {"X-Internal-Token": settings.INTERNAL_WORKER_TOKEN}
        user = self.student_user if path.startswith("/api/v1/me/") and self.student_user else self.admin
        return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def _parent_of(student):
    """The student's parent with an account, so the parent operations reach a parent and a child of theirs."""
    from apps.domains.accounts.tests.support import parent_with_children

    return parent_with_children(student.tenant, student, phone=student.parent_phone)


def _messaging_catalog(tenant, student) -> dict[str, dict[str, object]]:
    """A template, a consent and an opt-out of the tenant, so the messaging catalog's operations reach rows."""
    from apps.domains.messaging.catalog import message_consent_record, message_opt_out_add, message_template_create

    template = message_template_create(tenant=tenant, name="결석 알림", body="#{학생이름} 학생 결석")
    [consent] = message_consent_record(tenant=tenant, student_ids=[student.id], holder="parent", kind="ad",
                                       method="서면 동의서")
    opt_out, _ = message_opt_out_add(tenant=tenant, phone="01090000009")
    return {
        "/api/v1/messaging/templates/{id}": {"id": template.id},
        "/api/v1/messaging/consents/{id}": {"id": consent.consent.id},
        "/api/v1/messaging/opt-outs/{id}": {"id": opt_out.id},
    }


def max_examples(default: int) -> int:
    return int(os.environ.get(MAX_EXAMPLES_ENV) or default)


def boundaries() -> bool:
    return bool(os.environ.get(BOUNDARIES_ENV))


def generation_mode() -> GenerationMode:
    return GenerationMode.NEGATIVE if os.environ.get(NEGATIVE_ENV) else GenerationMode.POSITIVE


def run(*, world: TenantWorld, max_examples: int, mode: GenerationMode = GenerationMode.POSITIVE,
        boundaries: bool = False) -> dict[str, BaseException]:
    """Fuzz every operation; the failures by operation label (empty when every answer held to the schema).

    `boundaries` adds schemathesis' coverage cases first: each parameter and field at its minimum, maximum and
    edge values (about 1,200 requests, so only in the deeper run).
    """
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last: deleting the lecture first would leave every other operation on its rows a 404.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    for operation in operations:
        try:
            if boundaries:
                _boundaries(schema, operation, world=world, mode=mode)
            _fuzz(operation, world=world, max_examples=max_examples, mode=mode)
        except Exception as exc:  # every operation runs; the test reports them all
            failures[operation.label] = exc
    return failures


def _fuzz(operation, *, world: TenantWorld, max_examples: int, mode: GenerationMode) -> None:
    real_ids = world.real_path_parameters(operation.path)
    headers = world.headers(operation.path)
    # JSON where an operation takes it (what clients send): form encodings cannot carry a null.
    media_type = "application/json" if "application/json" in operation.get_request_payload_content_types() else None

    @hypothesis.settings(max_examples=max_examples, derandomize=True, deadline=None, database=None,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=operation.as_strategy(mode, media_type=media_type), use_real_ids=st.booleans())
    def fuzz(case, use_real_ids):
        if use_real_ids and real_ids:
            case.path_parameters = {**(case.path_parameters or {}), **real_ids}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        fuzz()
    except hypothesis.errors.Unsatisfiable:
        # An operation with neither parameters nor body has no invalid input to generate.
        if mode is GenerationMode.POSITIVE:
            raise


def _boundaries(schema, operation, *, world: TenantWorld, mode: GenerationMode) -> None:
    real_ids = world.real_path_parameters(operation.path)
    headers = world.headers(operation.path)
    config = schema.config.generation_for(operation=operation)
    for case in schema.iter_coverage_cases(operation, generation_modes=[mode], generation_config=config):
        if real_ids:
            case.path_parameters = {**(case.path_parameters or {}), **real_ids}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)


def describe(failures: dict[str, BaseException]) -> str:
    return "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
