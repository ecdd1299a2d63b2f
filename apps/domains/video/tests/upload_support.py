"""Fixtures and helpers shared by the upload, API and playback tests (imported by name into those modules)."""


import pytest
import requests

from apps.core.models import Role
from apps.integrations import storage as storage_module
from apps.jobs.tests.fakes import FakeBatch


@pytest.fixture
def fake_batch(monkeypatch):
    """Records submits and terminations instead of calling AWS Batch."""
    batch = FakeBatch()
    monkeypatch.setattr("apps.jobs.services._get_batch", lambda: batch)
    return batch


@pytest.fixture
def served_storage(live_server, settings, tmp_path):
    """Local storage whose presigned URLs point at a live server, so ffprobe and requests can follow them."""
    settings.STORAGE_BACKEND = "local"
    settings.LOCAL_STORAGE_DIR = tmp_path / "storage"
    settings.API_BASE_URL = live_server.url
    storage_module.reset_storage_for_tests()
    yield storage_module.get_storage()
    storage_module.reset_storage_for_tests()


@pytest.fixture
def teacher(make_user, tenant):
    return make_user(tenant, Role.TEACHER)


@pytest.fixture
def teacher_client(client_for, teacher):
    return client_for(teacher)


@pytest.fixture
def lecture(make_lecture, tenant):
    return make_lecture(tenant, "물리 A반")


@pytest.fixture
def tiny_video(make_source) -> bytes:
    """A real 1 s 320x240 H.264/AAC MP4, made by ffmpeg for the test session."""
    return make_source(width=320, height=240, seconds=1).read_bytes()


def create_video(client, lecture, *, size: int, filename: str = "강의 1.mp4", content_type: str = "video/mp4",
                 title: str = "1강"):
    return client.post("/api/v1/videos/", {"title": title, "lecture_id": lecture.id, "filename": filename,
                                           "size": size, "content_type": content_type}, format="json")


def upload(instructions: dict, data: bytes) -> list[dict]:
    """PUTs the bytes where the instructions say, as a browser would; returns the parts list for upload_complete."""
    if instructions["kind"] == "single":
        response = requests.put(instructions["url"], data=data, headers=instructions["headers"], timeout=10)
        assert response.status_code == 200
        return []
    size = instructions["part_size"]
    parts = []
    for part in instructions["parts"]:
        start = (part["part_number"] - 1) * size
        response = requests.put(part["url"], data=data[start:start + size], timeout=10)
        assert response.status_code == 200
        parts.append({"PartNumber": part["part_number"], "ETag": response.headers["ETag"]})
    return parts


def create_and_upload(client, lecture, data: bytes, **fields) -> tuple[int, list[dict]]:
    response = create_video(client, lecture, size=len(data), **fields)
    assert response.status_code == 201, response.json()
    body = response.json()
    return body["video"]["id"], upload(body["upload"], data)
