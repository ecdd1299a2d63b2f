"""A front end on another origin, in a real browser (Debian's headless Chromium, hls.js vendored in browser/).

The API runs under gunicorn with the embedded stack (local storage, the local Batch runner running the real video
entrypoint and ffmpeg); the page is served from a second port, so every call it makes is cross-origin. The page
logs in, uploads a clip through the presigned URL, follows the transcode through Server-Sent Events with a ticket,
plays the READY video past 5 s with hls.js, and reads the 403 of an expired playlist.
"""

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from django.urls import reverse

from apps.core.models import Role
from apps.domains.video import playback
from apps.worker.tests.support import running_api_server

BROWSER_DIR = Path(__file__).parent / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--autoplay-policy=no-user-gesture-required"]
PLAY_SECONDS = 5
CLIP_SECONDS = 8

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_site(tmp_path, make_source):
    """The front end's own origin: the page, hls.js and the clip to upload, on a second loopback port."""
    site = tmp_path / "site"
    shutil.copytree(BROWSER_DIR, site)
    shutil.copy(make_source(width=320, height=180, seconds=CLIP_SECONDS, fps=25), site / "clip.mp4")
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def api_server(tmp_path, page_site):
    """The API under gunicorn on the test database, allowing the page's origin and nothing else."""
    with running_api_server(
        log_path=tmp_path / "gunicorn.log", threads=8, CORS_ALLOWED_ORIGINS=page_site,
        LOCAL_STORAGE_DIR=str(tmp_path / "storage"), BATCH_LOCAL_LOG_DIR=str(tmp_path / "batch-logs"),
        VIDEO_WORKER_TEMP_DIR=str(tmp_path / "video-work"), VIDEO_RENDITIONS="180", VIDEO_SEGMENT_SECONDS="2",
    ) as url:
        yield url


def test_a_front_end_on_another_origin_uploads_follows_and_plays_a_video(
    api_server, page_site, make_user, tenant, make_lecture
):
    from playwright.sync_api import sync_playwright

    # Given an academy admin with a password and a lecture
    password = "browser-test-pw-1234"
    admin = make_user(tenant, Role.ADMIN, username="browser-admin")
    admin.set_password(password)
    admin.save()
    lecture = make_lecture(tenant)

    def expired_playlist_url(video_id: int) -> str:
        token, _ = playback.playback_token_make(video_id=video_id, user_id=admin.id, expires_in=-1)
        return api_server + reverse("video-hls-master", kwargs={"video_id": video_id, "token": token})

    # When the page on its own origin walks the whole journey
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            console = []
            page.on("console", lambda message: console.append(message.text))
            page.expose_function("expiredPlaylistUrl", expired_playlist_url)
            page.goto(f"{page_site}/front_end.html")
            seen = page.evaluate("config => journey(config)", {
                "api": api_server, "username": admin.username, "password": password, "lectureId": lecture.id,
                "playSeconds": PLAY_SECONDS,
            })
        finally:
            browser.close()

    # Then every cross-origin step worked as the front end needs it
    assert seen["login"] == 200, console
    assert seen["create"] == 201
    assert seen["put"]["status"] == 200 and seen["put"]["etag"], "the upload's ETag must be readable"
    assert seen["complete"] == 202
    assert seen["ticket"] == 200
    assert seen["events"]["ended"] is True and seen["events"]["states"][-1] == "DONE", seen["events"]
    assert seen["playback"] == 200
    assert isinstance(seen["played"], float) and seen["played"] > PLAY_SECONDS, (seen["played"], seen["hlsErrors"])
    assert seen["expired"] == {"status": 403, "code": "PLAYBACK_TOKEN_EXPIRED"}
