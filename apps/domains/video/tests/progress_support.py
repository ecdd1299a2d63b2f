"""Rows the watch progress tests share: a READY video in a lecture, students with logins, parents, JWT clients."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.core.models import Role
from apps.domains.video.models import Video, VideoState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_phones = itertools.count(1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_ready_video(tenant, lecture, *, title="1강", duration=600.0, session=None, thumbnail_key="") -> Video:
    return Video.objects.create(tenant=tenant, lecture=lecture, session=session, title=title, filename="a.mp4",
                                safe_filename="a.mp4", size=10, content_type="video/mp4", state=VideoState.READY,
                                duration_seconds=duration, thumbnail_key=thumbnail_key)


def jwt_client(user) -> APIClient:
    """A client that authenticates the way players do (a Bearer token: one query to load the user)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def enrolled_student(make_user, make_student, make_enrollment):
    """A student with a login, enrolled (ACTIVE unless told) in `lecture`; returns the Student (user on .user)."""

    def make(lecture, *, name="김학생", status="ACTIVE"):
        user = make_user(lecture.tenant, Role.STUDENT)
        student = make_student(lecture.tenant, name=name, user=user)
        make_enrollment(lecture, student, status=status)
        return student

    return make


@pytest.fixture
def parent_of(make_parent):
    """A parent login linked to the given students (each call a new phone)."""

    def make(*students):
        return make_parent(students[0].tenant, *students, phone=f"0107{next(_phones):07d}").user

    return make


def beat_body(playback_id: uuid.UUID, seq: int, position: float, playing: bool = True) -> dict:
    return {"playback_id": str(playback_id), "seq": seq, "position": position, "playing": playing}
