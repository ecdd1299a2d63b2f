"""Storage contract (ARCHITECTURE §3): LocalStorage and R2Storage-on-moto pass the same suite."""

import io

import pytest

from apps.integrations.storage import InvalidKey, ObjectNotFound, StorageError, validate_key


@pytest.fixture
def storage(storage_backend):
    return storage_backend[0]


@pytest.fixture
def http(storage_backend):
    return storage_backend[1]


class TestStorageContract:
    def test_put_bytes_then_get_to_file_head_and_exists(self, storage, tmp_path):
        # Given an object written from bytes
        storage.put("excel", "t1/uploads/명단.xlsx", b"hello world", content_type="application/vnd.ms-excel")

        # When it is read back to a file
        target = tmp_path / "out" / "copy.xlsx"
        written = storage.get_to_file("excel", "t1/uploads/명단.xlsx", target)

        # Then the bytes, size and metadata round-trip
        assert written == 11
        assert target.read_bytes() == b"hello world"
        info = storage.head("excel", "t1/uploads/명단.xlsx")
        assert info.key == "t1/uploads/명단.xlsx"
        assert info.size == 11
        assert info.content_type == "application/vnd.ms-excel"
        assert info.etag == "5eb63bbbe01eeed093cb22bb8f5acdc3"
        assert info.last_modified is not None
        assert storage.exists("excel", "t1/uploads/명단.xlsx") is True

    def test_put_stream_and_put_file_store_the_same_bytes(self, storage, tmp_path):
        payload = bytes(range(256)) * 4096  # 1 MiB, more than one read chunk
        source = tmp_path / "src.bin"
        source.write_bytes(payload)

        storage.put("video", "a/stream.bin", io.BytesIO(payload))
        storage.put_file("video", "a/file.bin", source, content_type="video/mp4", cache_control="max-age=60")

        assert storage.get_to_file("video", "a/stream.bin", tmp_path / "s") == len(payload)
        assert storage.get_to_file("video", "a/file.bin", tmp_path / "f") == len(payload)
        assert (tmp_path / "s").read_bytes() == payload
        assert (tmp_path / "f").read_bytes() == payload
        assert storage.head("video", "a/file.bin").content_type == "video/mp4"

    def test_put_overwrites(self, storage, tmp_path):
        storage.put("ai", "k", b"first")
        storage.put("ai", "k", b"second!")

        assert storage.get_to_file("ai", "k", tmp_path / "o") == 7
        assert (tmp_path / "o").read_bytes() == b"second!"

    def test_missing_object(self, storage, tmp_path):
        assert storage.head("storage", "nope/x") is None
        assert storage.exists("storage", "nope/x") is False
        with pytest.raises(ObjectNotFound):
            storage.get_to_file("storage", "nope/x", tmp_path / "x")
        assert not (tmp_path / "x").exists()

    def test_delete_is_idempotent(self, storage):
        storage.put("storage", "d/x", b"1")

        storage.delete("storage", "d/x")
        storage.delete("storage", "d/x")

        assert storage.exists("storage", "d/x") is False

    def test_list_prefix_lists_only_the_prefix_in_key_order(self, storage):
        for key in ["t1/b", "t1/a", "t1/sub/c", "t10/x", "t2/y"]:
            storage.put("excel", key, key.encode())

        listed = list(storage.list_prefix("excel", "t1/"))

        assert [info.key for info in listed] == ["t1/a", "t1/b", "t1/sub/c"]
        assert [info.size for info in listed] == [4, 4, 8]
        assert [info.key for info in storage.list_prefix("excel", "t1")] == ["t1/a", "t1/b", "t1/sub/c", "t10/x"]
        assert list(storage.list_prefix("excel", "zzz/")) == []

    def test_delete_prefix_counts_and_spares_other_prefixes(self, storage):
        for i in range(5):
            storage.put("video", f"job/{i}/seg.ts", b"x")
        storage.put("video", "jobber/keep", b"k")
        storage.put("video", "other/keep", b"k")

        deleted = storage.delete_prefix("video", "job/")

        assert deleted == 5
        assert [info.key for info in storage.list_prefix("video", "")] == ["jobber/keep", "other/keep"]
        assert storage.delete_prefix("video", "job/") == 0

    def test_presigned_put_then_get_round_trip(self, storage, http):
        put_url = storage.presign_put("excel", "t1/up/file.csv", expires=60, content_type="text/csv")
        status, _ = http.put(put_url, b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
        assert status == 200

        info = storage.head("excel", "t1/up/file.csv")
        assert info.size == 8
        assert info.content_type == "text/csv"

        get_url = storage.presign_get("excel", "t1/up/file.csv", expires=60, download_name="수강생.csv")
        status, body, headers = http.get(get_url)
        assert status == 200
        assert body == b"a,b\n1,2\n"
        assert "filename*=UTF-8''%EC%88%98%EA%B0%95%EC%83%9D.csv" in headers["Content-Disposition"]

    def test_multipart_upload_through_presigned_parts(self, storage, http, tmp_path):
        # Given an upload of two parts (S3 wants every part but the last to be at least 5 MiB)
        first = b"A" * (5 * 1024 * 1024)
        second = b"tail-bytes"
        upload_id = storage.create_multipart("video", "t1/raw/lecture.mp4", content_type="video/mp4")

        # When the parts are PUT out of order to their presigned URLs and the upload completed
        status2, headers2 = http.put(storage.presign_part("video", "t1/raw/lecture.mp4", upload_id=upload_id,
                                                           part_number=2), second)
        status1, headers1 = http.put(storage.presign_part("video", "t1/raw/lecture.mp4", upload_id=upload_id,
                                                           part_number=1), first)
        assert (status1, status2) == (200, 200)
        storage.complete_multipart("video", "t1/raw/lecture.mp4", upload_id=upload_id, parts=[
            {"PartNumber": 2, "ETag": headers2["ETag"]},
            {"PartNumber": 1, "ETag": headers1["ETag"]},
        ])

        # Then the object is the parts concatenated in part order
        assert storage.get_to_file("video", "t1/raw/lecture.mp4", tmp_path / "v") == len(first) + len(second)
        data = (tmp_path / "v").read_bytes()
        assert data[:5] == b"AAAAA"
        assert data.endswith(second)
        assert storage.head("video", "t1/raw/lecture.mp4").content_type == "video/mp4"

    def test_complete_refuses_a_wrong_part_etag_and_keeps_the_upload_open(self, storage, http, tmp_path):
        upload_id = storage.create_multipart("video", "t1/raw/etag.mp4")
        status, headers = http.put(storage.presign_part("video", "t1/raw/etag.mp4", upload_id=upload_id,
                                                        part_number=1), b"only part")
        assert status == 200

        with pytest.raises(StorageError) as refused:
            storage.complete_multipart("video", "t1/raw/etag.mp4", upload_id=upload_id,
                                       parts=[{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}])

        assert not isinstance(refused.value, ObjectNotFound)
        assert storage.exists("video", "t1/raw/etag.mp4") is False
        storage.complete_multipart("video", "t1/raw/etag.mp4", upload_id=upload_id,
                                   parts=[{"PartNumber": 1, "ETag": headers["ETag"]}])
        assert storage.get_to_file("video", "t1/raw/etag.mp4", tmp_path / "e") == len(b"only part")

    def test_aborted_multipart_leaves_no_object_and_cannot_complete(self, storage, http):
        upload_id = storage.create_multipart("video", "t1/raw/x.mp4")
        status, headers = http.put(storage.presign_part("video", "t1/raw/x.mp4", upload_id=upload_id,
                                                        part_number=1), b"only")
        assert status == 200

        storage.abort_multipart("video", "t1/raw/x.mp4", upload_id=upload_id)
        storage.abort_multipart("video", "t1/raw/x.mp4", upload_id=upload_id)

        assert storage.exists("video", "t1/raw/x.mp4") is False
        assert headers["ETag"] == '"6299ba2cbd9661a5e3872b715521cd6a"'

    def test_unknown_logical_bucket_is_refused(self, storage):
        with pytest.raises(ValueError, match="unknown logical bucket"):
            storage.put("academy-excel", "k", b"x")
        with pytest.raises(ValueError, match="unknown logical bucket"):
            storage.presign_get("videos", "k")

    @pytest.mark.parametrize("key", ["../x", "/x", "a\x00b", "a/../../etc/passwd", ""])
    def test_invalid_keys_are_refused_before_any_write(self, storage, key):
        with pytest.raises(InvalidKey):
            storage.put("storage", key, b"x")
        with pytest.raises(InvalidKey):
            storage.presign_put("storage", key)
        assert list(storage.list_prefix("storage", "")) == []


class TestAbortedUploads:
    def test_local_upload_cannot_complete_after_abort(self, local_storage):
        upload_id = local_storage.create_multipart("video", "x.mp4")
        local_storage.abort_multipart("video", "x.mp4", upload_id=upload_id)

        with pytest.raises(ObjectNotFound):
            local_storage.complete_multipart("video", "x.mp4", upload_id=upload_id,
                                             parts=[{"PartNumber": 1, "ETag": ""}])
        assert local_storage.exists("video", "x.mp4") is False
        assert list((local_storage.root / ".multipart").iterdir()) == []

    def test_r2_abort_removes_the_upload(self, r2_storage):
        upload_id = r2_storage.create_multipart("video", "x.mp4")
        assert [u["UploadId"] for u in r2_storage.client.list_multipart_uploads(Bucket="academy-video")["Uploads"]] \
            == [upload_id]

        r2_storage.abort_multipart("video", "x.mp4", upload_id=upload_id)

        assert r2_storage.client.list_multipart_uploads(Bucket="academy-video").get("Uploads", []) == []

    def test_local_complete_refuses_missing_parts(self, local_storage):
        upload_id = local_storage.create_multipart("video", "y.mp4")

        with pytest.raises(StorageError, match="parts never uploaded"):
            local_storage.complete_multipart("video", "y.mp4", upload_id=upload_id,
                                             parts=[{"PartNumber": 1, "ETag": ""}])
        assert local_storage.exists("video", "y.mp4") is False


class TestValidateKey:
    @pytest.mark.parametrize("key", ["../x", "/x", "a\x00b", "a\nb", "a\x7fb", "", "a//b", "a/./b", "a/", "x/..",
                                     "a\\b", "k" * 1025])
    def test_refused(self, key):
        with pytest.raises(InvalidKey):
            validate_key(key)

    @pytest.mark.parametrize("key", ["a", "t1/uploads/2024-01-01/명단 (최종).xlsx", "a..b/c", "k" * 1024])
    def test_accepted(self, key):
        assert validate_key(key) == key


class TestR2DeletePrefixBatches:
    def test_deletes_in_batches_of_1000(self, r2_storage):
        # Given 1,001 objects under a prefix (put directly through the client: only the delete path is under test)
        client = r2_storage.client
        bucket = "academy-video"
        for i in range(1001):
            client.put_object(Bucket=bucket, Key=f"seg/{i:05d}.ts", Body=b"")
        calls = []
        original = client.delete_objects

        def spy(**kwargs):
            calls.append(len(kwargs["Delete"]["Objects"]))
            return original(**kwargs)

        client.delete_objects = spy

        # When the prefix is deleted
        deleted = r2_storage.delete_prefix("video", "seg/")

        # Then two batched calls removed everything
        assert deleted == 1001
        assert calls == [1000, 1]
        assert list(r2_storage.list_prefix("video", "seg/")) == []


class TestGetStorage:
    def test_follows_settings_and_is_cached(self, settings, tmp_path):
        from django.core.exceptions import ImproperlyConfigured

        from apps.integrations.storage import LocalStorage, R2Storage, get_storage, reset_storage_for_tests

        settings.LOCAL_STORAGE_DIR = tmp_path
        try:
            settings.STORAGE_BACKEND = "local"
            reset_storage_for_tests()
            assert isinstance(get_storage(), LocalStorage)
            assert get_storage() is get_storage()
            settings.STORAGE_BACKEND = "r2"
            reset_storage_for_tests()
            assert isinstance(get_storage(), R2Storage)
            settings.STORAGE_BACKEND = "s3"
            reset_storage_for_tests()
            with pytest.raises(ImproperlyConfigured):
                get_storage()
        finally:
            reset_storage_for_tests()


def test_local_get_to_file_leaves_no_temporary_files(local_storage, tmp_path):
    local_storage.put("excel", "a.xlsx", b"data")
    out_dir = tmp_path / "elsewhere"

    local_storage.get_to_file("excel", "a.xlsx", out_dir / "a.xlsx")

    assert [p.name for p in out_dir.iterdir()] == ["a.xlsx"]
    assert list((local_storage.root / ".tmp").iterdir()) == []
