"""The /api/v1/me/ API (issue 14): who may call each endpoint, what each returns, and its constant query count."""

import datetime

import pytest
from django.utils import timezone

from apps.core.models import Role
from apps.domains.enrollment.models import EnrollmentStatus
from apps.domains.exams.models import ExamSettings, ExamState
from apps.domains.exams.tests.results_support import SheetMaker, open_exam
from apps.domains.me.tests.matrix import (
    CALLERS,
    OTHER_PARENT_PHONE,
    PARENT_PHONE,
    SEES_CHILD,
    expected_status,
    make_parent_user,
    me_caller,
    token_client,
    with_query,
)
from apps.domains.messaging.models import MessageRecipient, MessageSend

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)


def _published_exam(lecture, *, title="3월 단원평가", date=datetime.date(2026, 3, 5), **fields):
    return open_exam(lecture, title=title, date=date, state=ExamState.PUBLISHED, published_at=timezone.now(),
                     published_revision=0, **fields)


def _message(tenant, student, *, role, phone, text, status="DELIVERED", trigger="manual"):
    send = MessageSend.objects.create(tenant=tenant, body=text, recipient_count=1, audience=role, trigger=trigger,
                                      selection={"student_ids": [student.id]})
    return MessageRecipient.objects.create(tenant=tenant, send=send, student=student, role=role, phone=phone,
                                           text=text, type="SMS", status=status, sent_at=timezone.now())


@pytest.fixture
def child_data(me_world, make_user, make_lecture, make_session, make_enrollment, make_attendance):
    """The child's lecture (taught by 박선생) with three sessions, one marked PRESENT; an archived lecture; a
    published exam with their graded sheet; one message to them, one to their parent, one to another phone."""
    tenant, student = me_world.tenant, me_world.student
    teacher = make_user(tenant, role=Role.TEACHER, username="park", first_name="선생", last_name="박")
    lecture = make_lecture(tenant, title="수학 A반", subject="수학", teacher=teacher,
                           start_date=datetime.date(2026, 3, 1), end_date=datetime.date(2026, 6, 30))
    first = make_session(lecture, title="1회차", date=datetime.date(2026, 3, 2), start_time=datetime.time(18),
                         end_time=datetime.time(19, 30))
    second = make_session(lecture, title="2회차", date=datetime.date(2026, 3, 9))
    third = make_session(lecture, title="3회차", date=datetime.date(2026, 3, 16))
    enrollment = make_enrollment(lecture, student)
    make_attendance(first, enrollment, status="PRESENT")
    archived = make_lecture(tenant, title="지난 강의", archived_at=timezone.now())
    make_session(archived, date=datetime.date(2026, 3, 11))
    make_enrollment(archived, student)
    exam = _published_exam(lecture)
    sheets = SheetMaker(exam)
    sheets(student, [[1], [2], [3], [4], [1]])  # 8 of 10
    classmate = make_enrollment(lecture, me_world.other_child).student
    sheets(classmate, [[1], [2], [3], [4], [5]])  # 10 of 10
    to_student = _message(tenant, student, role="student", phone="01011112222", text="학생에게")
    to_parent = _message(tenant, student, role="parent", phone=PARENT_PHONE, text="학부모에게")
    _message(tenant, student, role="parent", phone="01099990000", text="다른 보호자에게")
    return {"lecture": lecture, "sessions": [first, second, third], "exam": exam, "enrollment": enrollment,
            "to_student": to_student, "to_parent": to_parent}


ENDPOINTS = ["/api/v1/me/lectures/", "/api/v1/me/sessions/?from=2026-03-01&to=2026-03-31",
             "/api/v1/me/attendance/", "/api/v1/me/exams/", "/api/v1/me/exams/{exam}/", "/api/v1/me/messages/"]


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_permission_matrix(me_world, child_data, who, endpoint):
    client, query = me_caller(me_world, who)
    url = with_query(endpoint.format(exam=child_data["exam"].id), query)

    response = client.get(url)

    expected = expected_status(who)
    if who == "foreign_student" and "{exam}" in endpoint:
        expected = 404  # another academy's exam
    assert response.status_code == expected, response.content
    body = response.json()
    if expected == 403:
        assert body["code"] == "ME_STUDENTS_AND_PARENTS_ONLY"
    if who == "foreign_student" and expected == 200:
        assert body["results"] == []  # their own academy, their own (empty) data
    if who in SEES_CHILD:
        # The student and their parent see the same data, except messages (the parent also sees theirs).
        baseline = me_caller(me_world, "student")[0].get(endpoint.format(exam=child_data["exam"].id)).json()
        if endpoint != "/api/v1/me/messages/":
            assert body == baseline


@pytest.mark.parametrize("who", CALLERS)
def test_permission_matrix_of_who_am_i(me_world, who):
    client, query = me_caller(me_world, who)
    response = client.get(f"/api/v1/me/{query}")
    # "Who am I" takes no ?student: a stranger's child id changes nothing.
    expected = {"anonymous": 401, "staff": 403}.get(who, 200)
    assert response.status_code == expected


def test_who_am_i_for_a_student_and_a_parent(me_world, make_student):
    sibling = make_student(me_world.tenant, name="김하늘", school="한빛초", grade=5)
    parent = make_parent_user(me_world.tenant, me_world.student, sibling, phone="01033334444", name="김엄마")
    left = make_student(me_world.tenant, name="떠난아이", deleted_at=timezone.now())
    make_parent_user(me_world.tenant, left, phone="01033335555")

    as_student = token_client(me_world.student_user).get("/api/v1/me/").json()
    as_parent = token_client(parent).get("/api/v1/me/").json()

    tenant = {"name": me_world.tenant.name, "code": me_world.tenant.code}
    assert as_student == {
        "role": "student", "username": me_world.student_user.username, "name": "김민준", "tenant": tenant,
        "student": {"id": me_world.student.id, "name": "김민준", "school": "한빛중", "grade": 2}, "children": None}
    assert as_parent == {
        "role": "parent", "username": parent.username, "name": "김엄마", "tenant": tenant, "student": None,
        "children": [{"id": me_world.student.id, "name": "김민준", "school": "한빛중", "grade": 2},
                     {"id": sibling.id, "name": "김하늘", "school": "한빛초", "grade": 5}]}


def test_a_parent_of_two_must_name_the_child(me_world, make_student, child_data):
    sibling = make_student(me_world.tenant, name="김하늘")
    parent = token_client(make_parent_user(me_world.tenant, me_world.student, sibling, phone="01033334444"))

    unnamed = parent.get("/api/v1/me/lectures/")
    named = parent.get(f"/api/v1/me/lectures/?student={me_world.student.id}")
    sibling_view = parent.get(f"/api/v1/me/lectures/?student={sibling.id}")

    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "ME_STUDENT_REQUIRED")
    assert [row["title"] for row in named.json()["results"]] == ["수학 A반"]
    assert sibling_view.json()["results"] == []


# ---------------------------------------------------------------------------------------------------- lectures

def test_lectures_are_the_active_enrollments_in_live_lectures(me_world, child_data, make_lecture, make_enrollment):
    paused = make_lecture(me_world.tenant, title="쉬는 강의")
    make_enrollment(paused, me_world.student, status=EnrollmentStatus.PAUSED)
    make_enrollment(make_lecture(me_world.tenant, title="남의 강의"), me_world.other_child)

    response = token_client(me_world.student_user).get("/api/v1/me/lectures/")

    enrollment = child_data["enrollment"]
    assert response.json()["count"] == 1
    assert response.json()["results"] == [{
        "lecture_id": child_data["lecture"].id, "title": "수학 A반", "subject": "수학", "teacher_name": "선생 박",
        "start_date": "2026-03-01", "end_date": "2026-06-30", "enrollment_id": enrollment.id,
        "enrollment_status": "ACTIVE",
        "enrolled_at": enrollment.enrolled_at.astimezone(timezone.get_current_timezone()).isoformat()}]


# ---------------------------------------------------------------------------------------------------- calendar

def test_the_calendar_lists_dated_sessions_in_range_with_hours_and_marks(me_world, child_data, make_session):
    make_session(child_data["lecture"], title="날짜 없음")
    client = token_client(me_world.student_user)

    march = client.get("/api/v1/me/sessions/?from=2026-03-01&to=2026-03-31").json()
    default = client.get("/api/v1/me/sessions/").json()  # today (2026-03-10) to 30 days later
    first_week = client.get("/api/v1/me/sessions/?from=2026-03-02&to=2026-03-09").json()

    first, second, third = child_data["sessions"]
    lecture = child_data["lecture"]
    assert march["results"] == [
        {"session_id": first.id, "lecture_id": lecture.id, "lecture_title": "수학 A반", "order": 1,
         "title": "1회차", "date": "2026-03-02", "start_time": "18:00", "end_time": "19:30",
         "attendance": "PRESENT"},
        {"session_id": second.id, "lecture_id": lecture.id, "lecture_title": "수학 A반", "order": 2,
         "title": "2회차", "date": "2026-03-09", "start_time": None, "end_time": None, "attendance": "UNMARKED"},
        {"session_id": third.id, "lecture_id": lecture.id, "lecture_title": "수학 A반", "order": 3,
         "title": "3회차", "date": "2026-03-16", "start_time": None, "end_time": None, "attendance": "UNMARKED"},
    ]
    assert [row["session_id"] for row in default["results"]] == [third.id]
    assert [row["session_id"] for row in first_week["results"]] == [first.id, second.id]  # both ends included


@pytest.mark.parametrize(("query", "code"), [
    ("?from=2026-03-01&to=2026-06-02", "DATE_RANGE_TOO_LONG"),
    ("?from=2026-03-10&to=2026-03-09", "INVALID_DATE_RANGE"),
    ("?from=2026-13-01", "VALIDATION_ERROR"),
    ("?to=yesterday", "VALIDATION_ERROR"),
])
def test_a_bad_calendar_range_is_a_400(me_world, query, code):
    response = token_client(me_world.student_user).get(f"/api/v1/me/sessions/{query}")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert response.json()["message"].isascii() is False  # a Korean message


def test_the_longest_calendar_range_is_92_days(me_world):
    response = token_client(me_world.student_user).get("/api/v1/me/sessions/?from=2026-03-01&to=2026-06-01")
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------------------- attendance

def test_attendance_per_lecture_with_unmarked_counts_and_rate(me_world, child_data, make_session, make_attendance):
    lecture, enrollment = child_data["lecture"], child_data["enrollment"]
    third = child_data["sessions"][2]
    fourth = make_session(lecture, title="4회차", date=datetime.date(2026, 3, 3))
    make_attendance(fourth, enrollment, status="LATE")
    fifth = make_session(lecture, title="5회차", date=datetime.date(2026, 3, 4))
    make_attendance(fifth, enrollment, status="ABSENT")
    sixth = make_session(lecture, title="6회차", date=datetime.date(2026, 3, 5))
    make_attendance(sixth, enrollment, status="EXCUSED")
    # A future session: an UNMARKED row written ahead by the roster import keeps it out; a mark brings it in.
    make_attendance(third, enrollment, status="UNMARKED")
    undated = make_session(lecture, title="보강")
    make_attendance(undated, enrollment, status="PRESENT")

    response = token_client(me_world.student_user).get("/api/v1/me/attendance/")

    [row] = response.json()["results"]
    assert row["lecture_id"] == lecture.id and row["enrollment_status"] == "ACTIVE"
    assert [(s["title"], s["status"]) for s in row["sessions"]] == [
        ("1회차", "PRESENT"), ("4회차", "LATE"), ("5회차", "ABSENT"), ("6회차", "EXCUSED"), ("2회차", "UNMARKED"),
        ("보강", "PRESENT")]
    assert row["counts"] == {"UNMARKED": 1, "PRESENT": 2, "ABSENT": 1, "LATE": 1, "EXCUSED": 1}
    assert row["rate"] == 0.75  # (2 present + 1 late) / (2 + 1 + 1 absent); excused and unmarked left out


def test_attendance_rate_is_null_when_nothing_counts(me_world, make_lecture, make_session, make_enrollment):
    lecture = make_lecture(me_world.tenant)
    make_session(lecture, date=datetime.date(2026, 3, 2))
    make_enrollment(lecture, me_world.student)

    [row] = token_client(me_world.student_user).get("/api/v1/me/attendance/").json()["results"]

    assert (row["counts"]["UNMARKED"], row["rate"]) == (1, None)


def test_attendance_of_one_lecture(me_world, child_data, make_lecture, make_enrollment):
    other = make_lecture(me_world.tenant, title="영어")
    make_enrollment(other, me_world.student)
    client = token_client(me_world.student_user)

    one = client.get(f"/api/v1/me/attendance/?lecture={child_data['lecture'].id}")
    archived = child_data["lecture"].__class__.objects.get(title="지난 강의")
    refused = [client.get(f"/api/v1/me/attendance/?lecture={lecture_id}")
               for lecture_id in (archived.id, 999_999_999)]
    malformed = client.get("/api/v1/me/attendance/?lecture=abc")

    assert [row["title"] for row in one.json()["results"]] == ["수학 A반"]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(404, "LECTURE_NOT_FOUND")] * 2
    assert (malformed.status_code, malformed.json()["code"]) == (400, "VALIDATION_ERROR")


# ---------------------------------------------------------------------------------------------------- exams

@pytest.mark.parametrize(("display", "rank", "ranked_count", "percentile"), [
    ("PERCENTILE", None, None, 25.0), ("RANK", 2, 2, None), ("SCORE_ONLY", None, None, None)])
def test_exam_results_show_rank_or_percentile_as_the_academy_chose(me_world, child_data, display, rank,
                                                                   ranked_count, percentile):
    ExamSettings.objects.create(tenant=me_world.tenant, student_result_display=display)

    listed = token_client(me_world.student_user).get("/api/v1/me/exams/").json()

    exam = child_data["exam"]
    assert listed["results"] == [{
        "exam_id": exam.id, "title": "3월 단원평가", "date": "2026-03-05", "lecture_id": child_data["lecture"].id,
        "lecture_title": "수학 A반", "score": 8.0, "max_score": 10.0, "correct_count": 4, "display": display,
        "rank": rank, "ranked_count": ranked_count, "percentile": percentile, "revised": False,
        "published_at": exam.published_at.astimezone(timezone.get_current_timezone()).isoformat()}]


def test_exam_ranks_are_the_staff_results_ranks(me_world, child_data, admin_client):
    ExamSettings.objects.create(tenant=me_world.tenant, student_result_display="RANK")
    exam = child_data["exam"]

    staff = admin_client.get(f"/api/v1/exams/{exam.id}/results/").json()
    mine = token_client(me_world.student_user).get(f"/api/v1/me/exams/{exam.id}/").json()

    [staff_row] = [row for row in staff["results"] if row["student_id"] == me_world.student.id]
    assert (mine["score"], mine["rank"]) == (staff_row["score"], staff_row["rank"])


def test_exam_detail_lists_the_wrong_answers_with_the_right_ones(me_world, child_data):
    exam = child_data["exam"]
    response = token_client(me_world.student_user).get(f"/api/v1/me/exams/{exam.id}/")

    body = response.json()
    assert response.status_code == 200
    assert (body["score"], body["question_count"], body["percentile"]) == (8.0, 5, 25.0)
    assert body["wrong_answers"] == [{"number": 5, "marked": [1], "key": [5], "points": 2.0}]


def test_only_published_results_of_the_student_are_shown(me_world, child_data, make_lecture):
    lecture = child_data["lecture"]
    still_open = open_exam(lecture, title="채점 중")
    SheetMaker(still_open)(me_world.student)
    not_mine = _published_exam(lecture, title="안 본 시험")
    SheetMaker(not_mine)(me_world.other_child)
    client = token_client(me_world.student_user)

    listed = client.get("/api/v1/me/exams/").json()
    details = [client.get(f"/api/v1/me/exams/{exam.id}/") for exam in (still_open, not_mine)]

    assert [row["title"] for row in listed["results"]] == ["3월 단원평가"]
    assert [(r.status_code, r.json()["code"]) for r in details] == [(404, "NOT_FOUND")] * 2


def test_a_result_changed_after_publishing_shows_as_revised(me_world, child_data):
    exam = child_data["exam"]
    exam.revision = 1
    exam.answer_key = [1, 2, 3, 4, 1]  # the key was wrong: question 5 now accepts 1
    exam.save()

    body = token_client(me_world.student_user).get(f"/api/v1/me/exams/{exam.id}/").json()

    assert (body["revised"], body["score"], body["wrong_answers"]) == (True, 10.0, [])


# ---------------------------------------------------------------------------------------------------- messages

def test_a_student_sees_their_messages_and_never_their_parents(me_world, child_data):
    _message(me_world.tenant, me_world.student, role="student", phone="01011112222", text="대기 중", status="PENDING")

    response = token_client(me_world.student_user).get("/api/v1/me/messages/")

    [row] = response.json()["results"]
    recipient = child_data["to_student"]
    assert row == {
        "id": recipient.id,
        "sent_at": recipient.sent_at.astimezone(timezone.get_current_timezone()).isoformat(),
        "audience": "student", "type": "SMS", "kind": "manual", "status": "DELIVERED", "subject": "",
        "text": "학생에게"}
    assert "phone" not in row


def test_a_parent_sees_the_childs_messages_and_their_own_newest_first(me_world, child_data):
    # After the retention period the phone is masked: it is still theirs.
    masked = _message(me_world.tenant, me_world.student, role="parent", phone="010****6666", text="(보관 기간 만료)")

    rows = token_client(me_world.parent_user).get("/api/v1/me/messages/").json()["results"]

    assert [row["id"] for row in rows] == [masked.id, child_data["to_parent"].id, child_data["to_student"].id]
    other = token_client(me_world.other_parent_user).get(
        f"/api/v1/me/messages/?student={me_world.other_child.id}").json()["results"]
    assert other == []
    assert OTHER_PARENT_PHONE != PARENT_PHONE


# ---------------------------------------------------------------------------------------------------- query counts

def _add_rows(world, n, make_lecture, make_session, make_enrollment, make_attendance):
    """n more lectures (each with a session, an attendance mark and a published result) and n more messages."""
    for index in range(n):
        lecture = make_lecture(world.tenant, title=f"강의 {index}")
        session = make_session(lecture, date=datetime.date(2026, 3, 2))
        enrollment = make_enrollment(lecture, world.student)
        make_attendance(session, enrollment, status="LATE")
        SheetMaker(_published_exam(lecture, title=f"시험 {index}"))(world.student)
        _message(world.tenant, world.student, role="student", phone="01011112222", text=f"안내 {index}")
        _message(world.tenant, world.student, role="parent", phone=PARENT_PHONE, text=f"보호자 안내 {index}")


# Queries per request: 1 authentication (the user with tenant, student and parent joined), 1 more to resolve a
# parent's child, then the endpoint's own.
OWN_QUERIES = {
    "/api/v1/me/lectures/": 2,  # count, page
    "/api/v1/me/sessions/?from=2026-03-01&to=2026-03-31": 2,  # count, page
    "/api/v1/me/attendance/": 3,  # count, page of enrollments, their sessions with marks
    "/api/v1/me/exams/": 4,  # count, page of exams, their counted sheets, the exam settings
    "/api/v1/me/messages/": 2,  # count, page
}


@pytest.mark.parametrize("endpoint", list(OWN_QUERIES))
@pytest.mark.parametrize("who", ["student", "parent"])
def test_lists_cost_the_same_queries_for_3_and_30_rows(me_world, django_assert_num_queries, make_lecture,
                                                       make_session, make_enrollment, make_attendance, who,
                                                       endpoint):
    client, _ = me_caller(me_world, who)
    expected = 1 + (1 if who == "parent" else 0) + OWN_QUERIES[endpoint]
    sizes = []
    for more in (3, 27):
        _add_rows(me_world, more, make_lecture, make_session, make_enrollment, make_attendance)
        with django_assert_num_queries(expected):
            response = client.get(with_query(endpoint, "?page_size=100"))
        assert response.status_code == 200
        sizes.append(response.json()["count"])
    # 27 more rows each (a parent also sees the 27 messages sent to them).
    per_round = 2 if (who, endpoint) == ("parent", "/api/v1/me/messages/") else 1
    assert sizes[1] - sizes[0] == 27 * per_round
