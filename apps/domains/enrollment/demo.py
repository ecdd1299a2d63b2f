"""The demo academy of `make run` (`manage.py seed_demo`): teachers, students, lectures, sessions, enrollments,
attendance, a student login, a verified sender number with some message credit, message templates with the
absence and late notices on, and a roster file to try the upload with.

Every piece is looked up by its natural key first and written through the domain services only when missing, so a
second run creates nothing and fails on nothing; what the person trying the demo changed (a mark, a deleted
student) is left as it is. Phones are in the made-up range 010-5555-xxxx, the sender number is a made-up 02 number.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook

from apps.core.models import Role, Tenant, User
from apps.domains.enrollment.excel.template import TEMPLATE_HEADERS
from apps.domains.enrollment.models import AttendanceStatus, Enrollment, EnrollmentStatus
from apps.domains.enrollment.services import attendance_bulk_update, enrollment_create
from apps.domains.lectures.models import Lecture, Session
from apps.domains.lectures.services import lecture_create, session_create
from apps.domains.messaging.catalog import auto_notice_setting_update, message_template_create, message_template_sync
from apps.domains.messaging.models import AutoNoticeSetting, CreditEntry, MessageTemplate
from apps.domains.messaging.services import credit_grant, messaging_profile_ensure, messaging_profile_update
from apps.domains.students.models import SchoolType, Student
from apps.domains.students.services import student_create

TEACHER_PASSWORD = "teacher-demo-1234"  # noqa: S105 (demo only; printed by seed_demo)
STUDENT_PASSWORD = "student-demo-1234"  # noqa: S105 (demo only; printed by seed_demo)
STUDENT_USERNAME = "student"
SESSIONS_PER_LECTURE = 8
PAST_SESSIONS = 3

# (username, name) of the teachers; each teaches the lecture at the same position in LECTURES.
TEACHERS = (("teacher1", "김지훈"), ("teacher2", "이수진"), ("teacher3", "박현우"))

_E, _M, _H = SchoolType.ELEMENTARY.value, SchoolType.MIDDLE.value, SchoolType.HIGH.value
# (name, gender, school, school type, grade); the parent phone is 010-5555-00NN by position, middle and high
# school students have their own phone 010-5555-10NN.
STUDENTS = (
    ("김서준", "M", "대치초등학교", _E, 5), ("이하윤", "F", "대치초등학교", _E, 5),
    ("박도윤", "M", "도곡초등학교", _E, 6), ("최서아", "F", "도곡초등학교", _E, 6),
    ("정시우", "M", "대치초등학교", _E, 4), ("강지호", "M", "개포초등학교", _E, 5),
    ("조하은", "F", "개포초등학교", _E, 6), ("윤이준", "M", "도곡초등학교", _E, 4),
    ("장수아", "F", "대치초등학교", _E, 6), ("임지우", "F", "개포초등학교", _E, 5),
    ("한예준", "M", "대치초등학교", _E, 6), ("오지아", "F", "도곡초등학교", _E, 5),
    ("서유준", "M", "개포초등학교", _E, 4), ("신채원", "F", "대치초등학교", _E, 6),
    ("권민준", "M", "대청중학교", _M, 2), ("황서연", "F", "역삼중학교", _M, 2),
    ("안현우", "M", "대청중학교", _M, 1), ("송지민", "F", "역삼중학교", _M, 3),
    ("전민서", "F", "대명중학교", _M, 2), ("홍준서", "M", "대청중학교", _M, 3),
    ("유다은", "F", "대명중학교", _M, 1), ("고은우", "M", "역삼중학교", _M, 2),
    ("문서윤", "F", "대청중학교", _M, 2), ("양건우", "M", "대명중학교", _M, 3),
    ("손지유", "F", "역삼중학교", _M, 1), ("배승민", "M", "대청중학교", _M, 2),
    ("백소율", "F", "대명중학교", _M, 3), ("허유나", "F", "역삼중학교", _M, 2),
    ("남태윤", "M", "개포고등학교", _H, 1), ("노하린", "F", "중산고등학교", _H, 1),
    ("심재원", "M", "개포고등학교", _H, 2), ("구예린", "F", "중산고등학교", _H, 1),
    ("류동현", "M", "개포고등학교", _H, 1), ("나윤서", "F", "중산고등학교", _H, 2),
    ("진성민", "M", "개포고등학교", _H, 1), ("지수빈", "F", "중산고등학교", _H, 3),
    ("엄준혁", "M", "개포고등학교", _H, 1), ("채다인", "F", "중산고등학교", _H, 2),
    ("원시현", "M", "개포고등학교", _H, 1), ("천가은", "F", "중산고등학교", _H, 1),
)
# (title, subject, school type of its students); sessions are weekly, the first PAST_SESSIONS before today.
LECTURES = (
    ("초등 사고력 수학", "수학", _E),
    ("중등 영어 내신반", "영어", _M),
    ("고등 수학 심화", "수학", _H),
)
STUDENT_LOGIN_OF = "권민준"
DEMO_SENDER_NUMBER = "0255550100"
DEMO_CREDIT = Decimal("50000")
PAUSED_STUDENT = "양건우"
# (name, channel, category, body, AlimTalk template code) of the demo's message templates.
DEMO_TEMPLATES = (
    ("결석 알림", "sms", "attendance",
     "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다.", ""),
    ("지각 알림", "sms", "attendance",
     "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 지각했습니다.", ""),
    ("계정 안내", "sms", "account",
     "[#{학원명}] #{학생이름} 학생의 아이디는 #{아이디}입니다. 비밀번호 설정 코드: #{설정코드}", ""),
    ("성적 발표", "sms", "exam",
     "[#{학원명}] #{학생이름} 학생의 #{시험명} 점수는 #{점수}점입니다.", ""),
    ("결석 알림 (알림톡)", "alimtalk", "attendance",
     "[#{학원명}] #{학생이름} 학생이 #{날짜} #{강의명} 수업에 결석했습니다.", "DEMO_ABSENCE"),
)
# Automatic notices switched on in the demo, with the SMS template each uses.
DEMO_NOTICES = (("absence", "결석 알림"), ("late", "지각 알림"))


def demo_parent_phone(index: int) -> str:
    return f"0105555{index + 1:04d}"


def demo_student_phone(index: int) -> str:
    return f"0105555{1001 + index:04d}"


@dataclass
class DemoSeedResult:
    teachers: list[tuple[str, str]] = field(default_factory=list)
    student_login: tuple[str, str] | None = None
    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("teachers", "students", "lectures", "sessions", "enrollments", "attendance", "message_setup", "exams"), 0))


def _ensure_teachers(tenant: Tenant, result: DemoSeedResult) -> list[User]:
    password_hash = make_password(TEACHER_PASSWORD)  # one slow hash for every teacher
    teachers = []
    for username, name in TEACHERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"tenant": tenant, "role": Role.TEACHER, "first_name": name})
        if user.tenant_id != tenant.id:
            continue  # the name belongs to another academy's account: leave it alone
        result.created["teachers"] += created
        # Reset like the admin's, so the printed login always works.
        user.password = password_hash
        user.save(update_fields=["password"])
        teachers.append(user)
        result.teachers.append((username, name))
    return teachers


def _ensure_students(tenant: Tenant, result: DemoSeedResult) -> dict[str, Student]:
    existing: dict[tuple[str, str], Student] = {}
    for student in Student.objects.for_tenant(tenant).filter(parent_phone__startswith="0105555").order_by("id"):
        known = existing.get((student.name, student.parent_phone))
        if known is None or (known.deleted_at is not None and student.deleted_at is None):
            existing[(student.name, student.parent_phone)] = student  # a live twin wins over a deleted one
    students = {}
    for index, (name, gender, school, school_type, grade) in enumerate(STUDENTS):
        student = existing.get((name, demo_parent_phone(index)))
        if student is None:
            student = student_create(
                tenant=tenant, name=name, parent_phone=demo_parent_phone(index),
                phone="" if school_type == _E else demo_student_phone(index),
                school=school, school_type=school_type, grade=grade, gender=gender)
            result.created["students"] += 1
        if student.deleted_at is None:
            students[name] = student
    return students


def _ensure_lecture(tenant: Tenant, title: str, subject: str, teacher: User | None, first_day: date,
                    result: DemoSeedResult) -> tuple[Lecture, list[Session]]:
    lecture = Lecture.objects.for_tenant(tenant).filter(title=title).order_by("id").first()
    if lecture is None:
        lecture = lecture_create(
            tenant=tenant, title=title, subject=subject, teacher_id=teacher.id if teacher else None,
            start_date=first_day, end_date=first_day + timedelta(weeks=SESSIONS_PER_LECTURE - 1))
        result.created["lectures"] += 1
    have = set(lecture.sessions.values_list("order", flat=True))
    created = []
    for order in range(1, SESSIONS_PER_LECTURE + 1):
        if order not in have:
            created.append(session_create(lecture=lecture, order=order, title=f"{order}차시",
                                          date=first_day + timedelta(weeks=order - 1)))
    result.created["sessions"] += len(created)
    return lecture, created


def _ensure_enrollments(tenant: Tenant, lecture: Lecture, students: list[Student],
                        result: DemoSeedResult) -> list[Enrollment]:
    enrolled = {e.student_id: e for e in Enrollment.objects.filter(lecture=lecture)}
    for student in students:
        if student.id not in enrolled:
            status = EnrollmentStatus.PAUSED if student.name == PAUSED_STUDENT else EnrollmentStatus.ACTIVE
            enrolled[student.id] = enrollment_create(tenant=tenant, lecture_id=lecture.id, student_id=student.id,
                                                     status=status)
            result.created["enrollments"] += 1
    return [e for e in enrolled.values() if e.status == EnrollmentStatus.ACTIVE]


def _demo_mark(position: int, order: int) -> tuple[str, str]:
    """A fixed, plausible pattern: mostly present, now and then late, absent or excused."""
    roll = (position * 7 + order * 3) % 20
    if roll == 0:
        return AttendanceStatus.ABSENT, ""
    if roll == 1:
        return AttendanceStatus.LATE, "10분 지각"
    if roll == 2:
        return AttendanceStatus.EXCUSED, "병원 진료"
    return AttendanceStatus.PRESENT, ""


def _take_rolls(sessions: list[Session], enrollments: list[Enrollment], *, today: date, leave_last_unmarked: bool,
                result: DemoSeedResult) -> None:
    """Marks on past sessions (the last one left UNMARKED when asked: its roll was not taken), UNMARKED today."""
    if not enrollments:
        return
    taken = [s for s in sessions if s.date and s.date < today]
    unmarked = [s for s in sessions if s.date and s.date == today]
    if leave_last_unmarked and taken:
        unmarked.append(taken.pop())
    for session in taken:
        items = []
        for position, enrollment in enumerate(enrollments):
            status, memo = _demo_mark(position, session.order)
            items.append({"enrollment_id": enrollment.id, "status": status, "memo": memo})
        result.created["attendance"] += len(attendance_bulk_update(session=session, items=items))
    for session in unmarked:
        items = [{"enrollment_id": e.id, "status": AttendanceStatus.UNMARKED} for e in enrollments]
        result.created["attendance"] += len(attendance_bulk_update(session=session, items=items))


def _ensure_student_login(tenant: Tenant, student: Student | None, result: DemoSeedResult) -> None:
    if student is None:
        return
    user, _ = User.objects.get_or_create(
        username=STUDENT_USERNAME, defaults={"tenant": tenant, "role": Role.STUDENT, "first_name": student.name})
    if user.tenant_id != tenant.id or user.role != Role.STUDENT:
        return
    user.set_password(STUDENT_PASSWORD)
    user.save(update_fields=["password"])
    if student.user_id is None and not Student.objects.filter(user=user).exists():
        student.user = user
        student.save(update_fields=["user", "updated_at"])
    if student.birth_date is None:
        # 만 15: the login is active under the guardian-consent rule (docs/accounts.md), as the printed login says.
        today = timezone.localdate()
        student.birth_date = today.replace(year=today.year - 15, month=3, day=1)
        student.save(update_fields=["birth_date", "updated_at"])
    result.student_login = (STUDENT_USERNAME, student.name)


def _ensure_messaging(tenant: Tenant, result: DemoSeedResult) -> None:
    """A verified sender and one top-up, the first time only: a sender the demo user changed stays changed."""
    profile = messaging_profile_ensure(tenant=tenant)
    if not profile.sender_number:
        profile = messaging_profile_update(tenant=tenant, data={"sender_number": DEMO_SENDER_NUMBER})
        # Made up, so no provider would approve it; the demo marks it verified itself.
        profile.sender_verified_at = timezone.now()
        profile.save(update_fields=["sender_verified_at", "updated_at"])
        result.created["message_setup"] += 1
    if not CreditEntry.objects.for_tenant(tenant).exists():
        credit_grant(tenant=tenant, amount=DEMO_CREDIT, memo="데모 학원 충전")
        result.created["message_setup"] += 1


def _ensure_message_catalog(tenant: Tenant, result: DemoSeedResult) -> None:
    """The demo templates and the absence and late notices, each once: a template or notice the demo user changed
    or deleted is not brought back."""
    have = set(MessageTemplate.objects.for_tenant(tenant).values_list("name", flat=True))
    for name, channel, category, body, code in DEMO_TEMPLATES:
        if name in have:
            continue
        template = message_template_create(tenant=tenant, name=name, channel=channel, category=category, body=body,
                                           provider_template_id=code)
        result.created["message_setup"] += 1
        # The outbox approves any code; a real provider would not know the made-up one, so it is not asked.
        if channel == "alimtalk" and settings.MESSAGING_PROVIDER == "outbox":
            message_template_sync(template=template)
    for kind, template_name in DEMO_NOTICES:
        template = MessageTemplate.objects.for_tenant(tenant).filter(name=template_name,
                                                                     deleted_at__isnull=True).first()
        if template is None or AutoNoticeSetting.objects.for_tenant(tenant).filter(kind=kind).exists():
            continue
        auto_notice_setting_update(tenant=tenant, kind=kind, data={
            "enabled": True, "template_id": template.id, "mode": "sms", "audience": "parent"})
        result.created["message_setup"] += 1


@transaction.atomic
def demo_academy_seed(*, tenant: Tenant, today: date) -> DemoSeedResult:
    """Fill the demo tenant; idempotent (see the module docstring)."""
    result = DemoSeedResult()
    teachers = _ensure_teachers(tenant, result)
    students = _ensure_students(tenant, result)
    for position, (title, subject, school_type) in enumerate(LECTURES):
        # Each lecture meets on its own weekday; the first PAST_SESSIONS meetings are already over.
        first_day = today - timedelta(weeks=PAST_SESSIONS) + timedelta(days=position)
        teacher = teachers[position] if position < len(teachers) else None
        lecture, new_sessions = _ensure_lecture(tenant, title, subject, teacher, first_day, result)
        members = [students[row[0]] for row in STUDENTS if row[3] == school_type and row[0] in students]
        enrollments = _ensure_enrollments(tenant, lecture, members, result)
        _take_rolls(new_sessions, enrollments, today=today, leave_last_unmarked=position == len(LECTURES) - 1,
                    result=result)
        if STUDENT_LOGIN_OF in {student.name for student in members}:
            _ensure_published_exam(tenant, lecture, today=today, result=result)
    _ensure_student_login(tenant, students.get(STUDENT_LOGIN_OF), result)
    _ensure_messaging(tenant, result)
    _ensure_message_catalog(tenant, result)
    return result


DEMO_EXAM_TITLE = "단원평가 (데모)"
DEMO_EXAM_KEY = [1, 3, 2, 5, 4, 1, 2, 3, 4, 5]


def _ensure_published_exam(tenant: Tenant, lecture: Lecture, *, today: date, result: DemoSeedResult) -> None:
    """A published exam of the demo student's lecture, every student's sheet graded as the OMR job would leave it:
    the student and parent logins see a result with a rank and wrong answers on the first `make run`."""
    from apps.domains.exams.models import Exam, ExamScan, ExamSheet, ScanState, SheetStatus
    from apps.domains.exams.results import exam_publish, exam_regrade
    from apps.domains.exams.services import exam_create, exam_open

    if Exam.objects.for_tenant(tenant).filter(title=DEMO_EXAM_TITLE).exists():
        return
    exam = exam_create(tenant=tenant, lecture_id=lecture.id, title=DEMO_EXAM_TITLE, date=today - timedelta(days=7),
                       question_count=len(DEMO_EXAM_KEY), answer_key=DEMO_EXAM_KEY, points=10)
    exam = exam_open(exam=exam)
    scan = ExamScan.objects.create(tenant=tenant, exam=exam, page_count=0, state=ScanState.DONE,
                                   finished_at=timezone.now())
    members = Student.objects.filter(enrollments__lecture=lecture, enrollments__status=EnrollmentStatus.ACTIVE,
                                     deleted_at__isnull=True).order_by("id")
    sheets = []
    for position, student in enumerate(members):
        # Student n misses questions n, n+3, ... (mod 10): scores from 100 down, with ties and a spread to rank.
        wrong = {question for question in range(len(DEMO_EXAM_KEY)) if (question - position) % 4 == 0} if position \
            else set()
        answers = [[DEMO_EXAM_KEY[q] % 5 + 1] if q in wrong else [DEMO_EXAM_KEY[q]] for q in range(len(DEMO_EXAM_KEY))]
        sheets.append(ExamSheet(tenant=tenant, exam=exam, scan=scan, page_number=position + 1,
                                status=SheetStatus.GRADED, student=student, answers=answers,
                                states=["ONE"] * len(answers)))
    ExamSheet.objects.bulk_create(sheets)
    exam_regrade(exam=exam)
    exam_publish(exam=exam)
    result.created["exams"] += 1


# The sample roster: 20 rows for the upload screen. One student is already in the demo, two rows are skipped
# (no name, a parent phone too short) so the result shows its reasons.
SAMPLE_ROSTER_ROWS = (
    ("정우진", "010-5555-2001", "010-5555-3001", "대청중학교", "중2", "남", "", ""),
    ("김나연", "010-5555-2002", "", "역삼중학교", "중2", "여", "", "형제: 김도현"),
    ("김도현", "010-5555-2002", "", "대치초등학교", "초5", "남", "", "형제: 김나연"),
    ("이승우", "010-5555-2004", "010-5555-3004", "대명중학교", "중1", "남", "", ""),
    ("박지윤", "010 5555 2005", "", "대청중학교", "중3", "여", "", "상담 후 등록"),
    ("최민재", "01055552006", "010-5555-3006", "역삼중학교", "중2", "남", "", ""),
    ("정예은", "010-5555-2007", "", "대명중학교", "중1", "여", "", ""),
    ("", "010-5555-2008", "", "대청중학교", "중2", "남", "", "이름 누락: 건너뜀"),
    ("강태민", "010-5555-2009", "010-5555-3009", "대청중학교", "중3", "남", "", ""),
    ("조유진", "010-5555-2010", "", "역삼중학교", "중2", "여", "", ""),
    ("윤하람", "010-5555-20", "", "대명중학교", "중1", "여", "", "전화번호 자릿수 부족: 건너뜀"),
    ("장민호", "010-5555-2012", "010-5555-3012", "대청중학교", "중2", "남", "", ""),
    ("임서현", "010-5555-2013", "", "역삼중학교", "중3", "여", "", ""),
    ("한지성", "010-5555-2014", "", "대명중학교", "중2", "남", "", ""),
    ("오수민", "010-5555-2015", "", "대청중학교", "중1", "여", "", ""),
    ("서진우", "010-5555-2016", "010-5555-3016", "역삼중학교", "중2", "남", "", ""),
    ("신예서", "010-5555-2017", "", "대명중학교", "중3", "여", "", ""),
    ("권도윤", "010-5555-2018", "", "대청중학교", "중2", "남", "", ""),
    ("황지아", "010-5555-2019", "", "역삼중학교", "중1", "여", "", ""),
    ("허유나", "010-5555-0028", "", "역삼중학교", "중2", "여", "", "이미 등록된 학생"),
)


def demo_sample_roster_write(*, path: Path) -> Path:
    """Write the sample roster (the template's headers, phones as text) to `path`, replacing any earlier copy."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "학생 명단"
    sheet.append(TEMPLATE_HEADERS)
    for row in SAMPLE_ROSTER_ROWS:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path

