"""The Django admin cannot move a video between states: only the guarded transitions do."""

import pytest

from apps.core.models import Role
from apps.domains.video.models import Video, VideoState


@pytest.fixture
def operator(client, make_user):
    client.force_login(make_user(None, Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def video(tenant):
    return Video.objects.create(tenant=tenant, title="1강", filename="a.mp4", safe_filename="a.mp4", size=10,
                                content_type="video/mp4", state=VideoState.PROCESSING, raw_key="raw/a.mp4")


def test_a_posted_state_is_ignored_while_the_title_changes(operator, video, tenant):
    # When an operator posts the change form with a new state and a new title
    response = operator.post(f"/admin/video/video/{video.id}/change/", {
        "title": "1강 (수정)", "state": VideoState.READY, "raw_key": "elsewhere", "error_code": "X",
        "tenant": tenant.id, "lecture": "", "session": "",
    })

    # Then the title changed and nothing the transitions own did
    assert response.status_code == 302, response.content.decode()[:2000]
    video.refresh_from_db()
    assert (video.title, video.state, video.raw_key, video.error_code) == (
        "1강 (수정)", VideoState.PROCESSING, "raw/a.mp4", "")


def test_the_change_form_shows_state_as_text_not_a_field(operator, video):
    page = operator.get(f"/admin/video/video/{video.id}/change/").content.decode()

    assert 'name="title"' in page
    assert 'name="state"' not in page


def test_videos_are_neither_added_nor_deleted_in_the_admin(operator, video):
    assert operator.get("/admin/video/video/add/").status_code == 403
    assert operator.get(f"/admin/video/video/{video.id}/delete/").status_code == 403
    assert Video.objects.filter(id=video.id).exists()
