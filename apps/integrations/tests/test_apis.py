"""Local storage presigned URLs through the Django views: the signature is the only credential."""

import pytest
from django.test import Client

ORIGIN = "http://testserver"


@pytest.fixture
def client():
    return Client()


def relative(url: str) -> str:
    assert url.startswith(ORIGIN + "/api/v1/storage/local/")
    return url[len(ORIGIN):]


def test_put_then_get_round_trip(local_storage, client):
    # Given a presigned PUT
    put_url = local_storage.presign_put("excel", "t1/명단.xlsx", expires=60)

    # When a browser PUTs the file, then GETs it through a presigned GET
    put = client.put(relative(put_url), data=b"sheet-bytes", content_type="application/octet-stream")
    get = client.get(relative(local_storage.presign_get("excel", "t1/명단.xlsx")))

    # Then the bytes come back unchanged
    assert put.status_code == 200
    assert put.headers["ETag"] == '"2720436dca6fa0c6f546e4c710b9ff48"'
    assert get.status_code == 200
    assert b"".join(get.streaming_content) == b"sheet-bytes"
    assert get.headers["Content-Type"] == "application/octet-stream"


def test_expired_signature_is_refused_and_nothing_is_written(local_storage, client, monkeypatch):
    # Given a PUT URL valid for 60 s, presented 61 s later
    put_url = local_storage.presign_put("excel", "t1/late.xlsx", expires=60)
    issued = local_storage._clock()
    monkeypatch.setattr(local_storage, "_clock", lambda: issued + 61)

    response = client.put(relative(put_url), data=b"late", content_type="application/octet-stream")

    assert response.status_code == 403
    assert response.json()["code"] == "SIGNATURE_EXPIRED"
    assert local_storage.exists("excel", "t1/late.xlsx") is False


def test_signature_still_valid_at_its_last_second(local_storage, client, monkeypatch):
    put_url = local_storage.presign_put("excel", "t1/ontime.xlsx", expires=60)
    issued = int(local_storage._clock())
    monkeypatch.setattr(local_storage, "_clock", lambda: issued + 60)

    response = client.put(relative(put_url), data=b"ok", content_type="application/octet-stream")

    assert response.status_code == 200
    assert local_storage.exists("excel", "t1/ontime.xlsx") is True


def test_tampered_key_is_refused_and_nothing_is_written(local_storage, client):
    put_url = local_storage.presign_put("excel", "t1/mine.xlsx")
    tampered = relative(put_url).replace("t1/mine.xlsx", "t2/theirs.xlsx")

    response = client.put(tampered, data=b"evil", content_type="application/octet-stream")

    assert response.status_code == 403
    assert response.json() == {"code": "SIGNATURE_INVALID", "message": "서명이 올바르지 않은 주소입니다.",
                               "details": {}}
    assert local_storage.exists("excel", "t2/theirs.xlsx") is False
    assert local_storage.exists("excel", "t1/mine.xlsx") is False


def test_tampered_bucket_and_forged_token_are_refused(local_storage, client):
    local_storage.put("ai", "t1/secret.json", b"{}")
    get_url = relative(local_storage.presign_get("ai", "t1/secret.json"))

    other_bucket = client.get(get_url.replace("/o/ai/", "/o/excel/"))
    forged = client.get(get_url.split("?")[0] + "?sig=forged")
    missing = client.get(get_url.split("?")[0])

    assert [r.status_code for r in (other_bucket, forged, missing)] == [403, 403, 403]
    assert {r.json()["code"] for r in (other_bucket, forged, missing)} == {"SIGNATURE_INVALID"}


def test_get_signature_does_not_allow_put(local_storage, client):
    local_storage.put("excel", "t1/a.xlsx", b"original")
    get_url = relative(local_storage.presign_get("excel", "t1/a.xlsx"))

    response = client.put(get_url, data=b"overwritten", content_type="application/octet-stream")

    assert response.status_code == 403
    assert response.json()["code"] == "SIGNATURE_INVALID"
    assert local_storage.head("excel", "t1/a.xlsx").size == len(b"original")


def test_get_of_missing_object_is_404(local_storage, client):
    response = client.get(relative(local_storage.presign_get("excel", "t1/none.xlsx")))

    assert response.status_code == 404
    assert response.json()["code"] == "OBJECT_NOT_FOUND"


def test_part_url_for_an_aborted_upload_is_404(local_storage, client):
    upload_id = local_storage.create_multipart("video", "t1/v.mp4")
    part_url = relative(local_storage.presign_part("video", "t1/v.mp4", upload_id=upload_id, part_number=1))
    local_storage.abort_multipart("video", "t1/v.mp4", upload_id=upload_id)

    response = client.put(part_url, data=b"late part", content_type="application/octet-stream")

    assert response.status_code == 404
    assert response.json()["code"] == "UPLOAD_NOT_FOUND"
    assert list((local_storage.root / ".multipart").iterdir()) == []


def test_object_url_signature_cannot_upload_a_part(local_storage, client):
    upload_id = local_storage.create_multipart("video", "t1/v.mp4")
    put_url = relative(local_storage.presign_put("video", "t1/v.mp4"))

    response = client.put(put_url.replace("/o/", "/part/"), data=b"x", content_type="application/octet-stream")

    assert response.status_code == 403
    assert list(local_storage._upload_dir(upload_id).iterdir()) == [local_storage._upload_dir(upload_id) /
                                                                     "upload.json"]


def test_urls_are_absolute_on_api_base_url(local_storage, settings):
    url = local_storage.presign_get("storage", "a b/c.png")

    assert url.startswith("http://testserver/api/v1/storage/local/o/storage/a%20b/c.png?sig=")


def test_head_is_covered_by_a_get_signature(local_storage, client):
    local_storage.put("excel", "t1/h.xlsx", b"12345", content_type="text/plain")

    response = client.head(relative(local_storage.presign_get("excel", "t1/h.xlsx")))

    assert response.status_code == 200
    assert response.headers["Content-Length"] == "5"
    assert response.headers["Content-Type"] == "text/plain"


def test_views_answer_404_when_storage_is_not_local(local_storage, client, settings):
    url = relative(local_storage.presign_get("excel", "t1/a.xlsx"))
    settings.STORAGE_BACKEND = "r2"
    from apps.integrations.storage import reset_storage_for_tests

    reset_storage_for_tests()

    response = client.get(url)

    assert response.status_code == 404
    assert response.json()["code"] == "LOCAL_STORAGE_DISABLED"


def test_part_url_signature_cannot_overwrite_the_whole_object(local_storage, client):
    local_storage.put("video", "t1/v.mp4", b"original")
    upload_id = local_storage.create_multipart("video", "t1/v.mp4")
    part_url = relative(local_storage.presign_part("video", "t1/v.mp4", upload_id=upload_id, part_number=1))
    object_path = part_url.replace("/storage/local/part/", "/storage/local/o/")

    response = client.put(object_path, data=b"overwritten", content_type="application/octet-stream")

    assert (response.status_code, response.json()["code"]) == (403, "SIGNATURE_INVALID")
    downloaded = client.get(relative(local_storage.presign_get("video", "t1/v.mp4")))
    assert b"".join(downloaded.streaming_content) == b"original"


def test_put_with_an_empty_body_stores_an_empty_object(local_storage, client):
    response = client.put(relative(local_storage.presign_put("excel", "t1/empty.csv")), data=b"",
                          content_type="text/csv")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert local_storage.head("excel", "t1/empty.csv").size == 0


def test_a_browser_on_another_origin_reads_the_etag_of_a_presigned_put(local_storage, client):
    url = local_storage.presign_put("video", "raw/tenants/1/video/2/a.mp4", content_type="video/mp4")

    response = client.put(relative(url), b"data", content_type="video/mp4", HTTP_ORIGIN="https://app.example")

    # Multipart completion needs each part's ETag: the page can read it only when it is exposed.
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example"
    assert "etag" in response["Access-Control-Expose-Headers"].lower()
    assert response["ETag"] == '"8d777f385d3dfec8815d20f7496026dc"'
