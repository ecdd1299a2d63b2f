import pytest
from django.contrib.messages import get_messages

from apps.core.models import Role
from apps.domains.enrollment.models import Enrollment
from apps.domains.lectures.models import Lecture


@pytest.fixture
def operator(client, make_user):
    client.force_login(make_user(None, Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def enrolled_lecture(tenant, make_lecture, make_student, make_enrollment):
    lecture = make_lecture(tenant)
    make_enrollment(lecture, make_student(tenant))
    return lecture


def test_the_admin_offers_no_delete_of_a_lecture(operator, enrolled_lecture):
    page = operator.get(f"/admin/lectures/lecture/{enrolled_lecture.id}/delete/")
    bulk = operator.post("/admin/lectures/lecture/", {"action": "delete_selected",
                                                      "_selected_action": [enrolled_lecture.id], "post": "yes"})

    assert page.status_code == 403
    assert bulk.status_code == 302  # back to the changelist: delete_selected is not an action here
    assert Lecture.objects.filter(id=enrolled_lecture.id).exists()
    assert Enrollment.objects.count() == 1


def test_the_admin_archives_and_refuses_to_purge_a_lecture_with_history(operator, enrolled_lecture):
    operator.post("/admin/lectures/lecture/", {"action": "archive_lectures",
                                               "_selected_action": [enrolled_lecture.id]})
    response = operator.post("/admin/lectures/lecture/", {"action": "purge_lectures",
                                                          "_selected_action": [enrolled_lecture.id]})

    enrolled_lecture.refresh_from_db()
    assert enrolled_lecture.archived_at is not None
    assert [m.message for m in get_messages(response.wsgi_request)][-2:] == [
        f"수학 A반 (#{enrolled_lecture.id}): 수강 등록, 출결, 영상 기록이 남아 있는 강의는 완전히 삭제할 수 없습니다. "
        "수강 등록 1",
        "0개 강의를 완전히 삭제했습니다.",
    ]
    assert Enrollment.objects.count() == 1
