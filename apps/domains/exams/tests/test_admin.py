import pytest

from apps.core.models import Role
from apps.domains.exams.models import Exam, ExamState


@pytest.fixture
def operator(client, make_user):
    client.force_login(make_user(None, Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["exam", "examsettings"])
def test_changelists_render_filtered_by_tenant_and_searched(operator, tenant, make_lecture, make_exam, model):
    make_exam(make_lecture(tenant))

    response = operator.get(f"/admin/exams/{model}/?tenant__id__exact={tenant.id}&q=수학")

    assert response.status_code == 200


def test_only_a_draft_is_deleted_in_the_admin(operator, tenant, make_lecture, make_exam):
    lecture = make_lecture(tenant)
    draft, opened = make_exam(lecture), make_exam(lecture, state=ExamState.OPEN)

    refused = operator.post(f"/admin/exams/exam/{opened.id}/delete/", {"post": "yes"})
    deleted = operator.post(f"/admin/exams/exam/{draft.id}/delete/", {"post": "yes"})

    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert list(Exam.objects.values_list("id", flat=True)) == [opened.id]
