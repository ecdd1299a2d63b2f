"""ARCHITECTURE §3 object storage port: R2 through the S3 API, or a local directory with signed Django URLs.

Buckets are logical names ("ai", "video", "excel", "storage") mapped to settings.R2_BUCKET_*; callers never see
the physical bucket names. `get_storage()` returns the adapter chosen by settings.STORAGE_BACKEND.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured

from apps.integrations.aws import AdapterSlot, AwsAdapter, aws_client, aws_error_code, in_batches

LOGICAL_BUCKETS = {
    "ai": "R2_BUCKET_AI",
    "video": "R2_BUCKET_VIDEO",
    "excel": "R2_BUCKET_EXCEL",
    "storage": "R2_BUCKET_STORAGE",
}
MAX_KEY_LENGTH = 1024
S3_DELETE_BATCH = 1000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None
    etag: str | None
    last_modified: datetime | None


class StorageError(Exception):
    """Any backend failure: unreachable, denied, malformed answer."""


class ObjectNotFound(StorageError):
    pass


class InvalidKey(ValueError):
    pass


def validate_key(key: str) -> str:
    """Refuse keys that could escape a directory or confuse a backend; returns the key unchanged."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("key must be a non-empty string")
    if len(key.encode("utf-8")) > MAX_KEY_LENGTH:
        raise InvalidKey(f"key longer than {MAX_KEY_LENGTH} bytes")
    if key.startswith("/"):
        raise InvalidKey("key must not start with '/'")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise InvalidKey("key must not contain control characters")
    if "\\" in key:
        raise InvalidKey("key must not contain '\\'")
    # Empty, "." and ".." segments would collapse or climb on a filesystem: refused for every backend alike.
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise InvalidKey("key must not contain empty, '.' or '..' segments")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix is a key or a key ending in '/'; the empty prefix means the whole bucket."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def bucket_name(bucket: str) -> str:
    """Physical bucket for a logical name; an unknown logical name is a programming error."""
    setting = LOGICAL_BUCKETS.get(bucket)
    if setting is None:
        raise ValueError(f"unknown logical bucket {bucket!r}; expected one of {sorted(LOGICAL_BUCKETS)}")
    return getattr(settings, setting)


def content_disposition(download_name: str) -> str:
    """attachment header that survives Korean file names (RFC 6266 filename*)."""
    ascii_name = download_name.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(download_name, safe='')}"


class Storage:
    """The interface every adapter implements (CONTRACTS A)."""

    def put(self, bucket: str, key: str, data: bytes | BinaryIO, *, content_type: str | None = None,
            cache_control: str | None = None) -> None:
        raise NotImplementedError

    def put_file(self, bucket: str, key: str, path: str | os.PathLike, *, content_type: str | None = None,
                 cache_control: str | None = None) -> None:
        raise NotImplementedError

    def get_to_file(self, bucket: str, key: str, path: str | os.PathLike) -> int:
        raise NotImplementedError

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        raise NotImplementedError

    def exists(self, bucket: str, key: str) -> bool:
        return self.head(bucket, key) is not None

    def delete(self, bucket: str, key: str) -> None:
        raise NotImplementedError

    def list_prefix(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def delete_keys(self, bucket: str, keys: list[str]) -> int:
        """Deletes the given keys (missing ones are fine); returns how many were asked."""
        raise NotImplementedError

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        # Keys are collected first: deleting while paginating would shift the listing under the paginator.
        return self.delete_keys(bucket, [info.key for info in self.list_prefix(bucket, prefix)])

    def presign_get(self, bucket: str, key: str, *, expires: int = 300, download_name: str | None = None) -> str:
        raise NotImplementedError

    def presign_put(self, bucket: str, key: str, *, expires: int = 900, content_type: str | None = None) -> str:
        raise NotImplementedError

    def create_multipart(self, bucket: str, key: str, *, content_type: str | None = None) -> str:
        raise NotImplementedError

    def presign_part(self, bucket: str, key: str, *, upload_id: str, part_number: int, expires: int = 3600) -> str:
        raise NotImplementedError

    def complete_multipart(self, bucket: str, key: str, *, upload_id: str, parts: list[dict]) -> None:
        raise NotImplementedError

    def abort_multipart(self, bucket: str, key: str, *, upload_id: str) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Local directory
# ---------------------------------------------------------------------------
SIGNING_SALT = "apps.integrations.storage.local"


class SignatureInvalid(StorageError):
    pass


class SignatureExpired(StorageError):
    pass


@dataclass(frozen=True)
class LocalGrant:
    """What a verified local presigned URL allows."""

    bucket: str
    key: str
    method: str
    content_type: str | None = None
    download_name: str | None = None
    upload_id: str | None = None
    part_number: int | None = None


_LOCAL_URL_NAMES = {"o": "storage-local-object", "part": "storage-local-part"}


class LocalStorage(Storage):
    """Objects in LOCAL_STORAGE_DIR/<physical bucket>/<key>; metadata and uploads in dot-directories beside them.

    Dot-directories cannot collide with buckets (bucket names never start with a dot). Writes go to a temporary
    file on the same filesystem and are renamed into place, so a reader never sees half an object.
    """

    def __init__(self, root: str | os.PathLike, *, base_url: str, clock: Callable[[], float] = time.time):
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._clock = clock

    # paths -------------------------------------------------------------
    def _object_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket_name(bucket) / validate_key(key)

    def _meta_path(self, bucket: str, key: str) -> Path:
        return self.root / ".meta" / bucket_name(bucket) / (validate_key(key) + ".json")

    def _upload_dir(self, upload_id: str) -> Path:
        try:
            return self.root / ".multipart" / uuid.UUID(upload_id).hex
        except (ValueError, TypeError, AttributeError):
            raise ObjectNotFound(f"unknown upload {upload_id!r}")

    def _tmp_dir(self) -> Path:
        path = self.root / ".tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # writes ------------------------------------------------------------
    def _write_stream(self, target: Path, chunks: Iterator[bytes], *, tmp_dir: Path | None = None) -> tuple[int, str]:
        """Streams chunks into target atomically; returns (size, md5 hex).

        The temporary file must sit on the target's filesystem for the rename to be atomic (and possible).
        """
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir or self._tmp_dir(), prefix=".put-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return size, digest.hexdigest()

    def _write_meta(self, bucket: str, key: str, meta: dict) -> None:
        target = self._meta_path(bucket, key)
        self._write_stream(target, iter([json.dumps(meta).encode()]))

    def _store(self, bucket: str, key: str, chunks: Iterator[bytes], *, content_type: str | None,
               cache_control: str | None) -> None:
        target = self._object_path(bucket, key)
        try:
            _, md5 = self._write_stream(target, chunks)
            self._write_meta(bucket, key, {"content_type": content_type, "cache_control": cache_control, "etag": md5})
        except OSError as exc:
            raise StorageError(f"local write failed for {bucket}/{key}: {exc}") from exc

    def put(self, bucket, key, data, *, content_type=None, cache_control=None) -> None:
        self._store(bucket, key, _iter_data(data), content_type=content_type, cache_control=cache_control)

    def put_file(self, bucket, key, path, *, content_type=None, cache_control=None) -> None:
        with open(path, "rb") as src:
            self._store(bucket, key, _iter_data(src), content_type=content_type, cache_control=cache_control)

    # reads -------------------------------------------------------------
    def open(self, bucket: str, key: str) -> tuple[BinaryIO, ObjectInfo, dict]:
        """An open file plus its info and metadata; used by the local download view."""
        path = self._object_path(bucket, key)
        try:
            handle = open(path, "rb")  # closed by the caller (a FileResponse)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"{bucket}/{key}")
        meta = self._read_meta(bucket, key)
        return handle, self._info(key, path, meta), meta

    def _read_meta(self, bucket: str, key: str) -> dict:
        try:
            return json.loads(self._meta_path(bucket, key).read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return {}

    @staticmethod
    def _info(key: str, path: Path, meta: dict) -> ObjectInfo:
        stat = path.stat()
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            content_type=meta.get("content_type"),
            etag=meta.get("etag"),
            last_modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def get_to_file(self, bucket, key, path) -> int:
        handle, _, _ = self.open(bucket, key)
        with handle:
            target = Path(path)
            try:
                # The destination is the caller's (often /tmp, another filesystem): stage the copy beside it.
                target.parent.mkdir(parents=True, exist_ok=True)
                size, _ = self._write_stream(target, iter(lambda: handle.read(_CHUNK), b""), tmp_dir=target.parent)
            except OSError as exc:
                raise StorageError(f"local read failed for {bucket}/{key}: {exc}") from exc
        return size

    def head(self, bucket, key) -> ObjectInfo | None:
        path = self._object_path(bucket, key)
        if not path.is_file():
            return None
        return self._info(key, path, self._read_meta(bucket, key))

    def delete(self, bucket, key) -> None:
        self._object_path(bucket, key).unlink(missing_ok=True)
        self._meta_path(bucket, key).unlink(missing_ok=True)

    def list_prefix(self, bucket, prefix) -> Iterator[ObjectInfo]:
        validate_prefix(prefix)
        base = self.root / bucket_name(bucket)
        if not base.is_dir():
            return
        # Walk only the directory that can hold the prefix, then filter by the exact string prefix (S3 semantics).
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.is_dir():
            return
        found = []
        for dirpath, _dirnames, filenames in os.walk(start):
            for filename in filenames:
                full = Path(dirpath) / filename
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        for key in sorted(found):
            full = base / key
            try:
                yield self._info(key, full, self._read_meta(bucket, key))
            except FileNotFoundError:
                continue

    def delete_keys(self, bucket, keys) -> int:
        for key in keys:
            self.delete(bucket, key)
        return len(keys)

    # signed URLs -------------------------------------------------------
    def _sign(self, grant: dict, expires: int) -> str:
        # The absolute expiry rides inside the signed payload so the clock can be injected in tests.
        payload = {k: v for k, v in grant.items() if v is not None}
        payload["exp"] = int(self._clock()) + int(expires)
        return signing.dumps(payload, salt=SIGNING_SALT, compress=True)

    def verify(self, token: str, *, method: str, bucket: str, key: str, part: bool = False) -> LocalGrant:
        """Checks a presigned URL's token against the request it arrived with.

        A part URL signs an upload id and part number; it is valid for that part only, never for the whole object
        (as on S3, where the signature covers the operation).
        """
        try:
            payload = signing.loads(token, salt=SIGNING_SALT)
        except signing.BadSignature:
            raise SignatureInvalid("bad signature")
        if payload.get("b") != bucket or payload.get("k") != key or payload.get("m") != method:
            raise SignatureInvalid("signature does not cover this request")
        if part != ("u" in payload and "p" in payload):
            raise SignatureInvalid("signature does not cover this operation")
        if self._clock() > payload.get("exp", 0):
            raise SignatureExpired("signature expired")
        return LocalGrant(
            bucket=bucket,
            key=key,
            method=method,
            content_type=payload.get("ct"),
            download_name=payload.get("dn"),
            upload_id=payload.get("u"),
            part_number=payload.get("p"),
        )

    def _url(self, kind: str, bucket: str, key: str, token: str) -> str:
        from django.urls import reverse

        path = reverse(_LOCAL_URL_NAMES[kind], kwargs={"bucket": bucket, "key": key})
        return f"{self.base_url}{path}?{urlencode({'sig': token})}"

    def presign_get(self, bucket, key, *, expires=300, download_name=None) -> str:
        bucket_name(bucket)
        validate_key(key)
        token = self._sign({"b": bucket, "k": key, "m": "GET", "dn": download_name}, expires)
        return self._url("o", bucket, key, token)

    def presign_put(self, bucket, key, *, expires=900, content_type=None) -> str:
        bucket_name(bucket)
        validate_key(key)
        token = self._sign({"b": bucket, "k": key, "m": "PUT", "ct": content_type}, expires)
        return self._url("o", bucket, key, token)

    # multipart ---------------------------------------------------------
    def create_multipart(self, bucket, key, *, content_type=None) -> str:
        bucket_name(bucket)
        validate_key(key)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(upload_id)
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps({"bucket": bucket, "key": key, "content_type": content_type}))
        return upload_id

    def _upload_meta(self, bucket: str, key: str, upload_id: str) -> tuple[Path, dict]:
        folder = self._upload_dir(upload_id)
        try:
            meta = json.loads((folder / "upload.json").read_text())
        except FileNotFoundError:
            raise ObjectNotFound(f"unknown upload {upload_id!r}")
        if meta["bucket"] != bucket or meta["key"] != key:
            raise ObjectNotFound(f"upload {upload_id!r} is not for {bucket}/{key}")
        return folder, meta

    def presign_part(self, bucket, key, *, upload_id, part_number, expires=3600) -> str:
        self._upload_meta(bucket, key, upload_id)
        if not 1 <= int(part_number) <= 10000:
            raise ValueError("part_number must be between 1 and 10000")
        token = self._sign({"b": bucket, "k": key, "m": "PUT", "u": upload_id, "p": int(part_number)}, expires)
        return self._url("part", bucket, key, token)

    def store_part(self, bucket: str, key: str, *, upload_id: str, part_number: int,
                   stream: BinaryIO | None) -> str:
        """Used by the local part-upload view; returns the part's ETag (quoted md5, as S3 does)."""
        folder, _ = self._upload_meta(bucket, key, upload_id)
        try:
            _, md5 = self._write_stream(folder / f"{int(part_number):05d}.part", _iter_data(stream))
        except OSError as exc:
            raise StorageError(f"local part write failed: {exc}") from exc
        return f'"{md5}"'

    def complete_multipart(self, bucket, key, *, upload_id, parts) -> None:
        folder, meta = self._upload_meta(bucket, key, upload_id)
        etags = {int(part["PartNumber"]): str(part.get("ETag", "")).strip('"') for part in parts}
        numbers = sorted(etags)
        if not numbers or len(numbers) != len(parts):
            raise StorageError("parts must be a non-empty list of distinct PartNumber values")
        paths = [folder / f"{number:05d}.part" for number in numbers]
        missing = [number for number, path in zip(numbers, paths, strict=True) if not path.is_file()]
        if missing:
            raise StorageError(f"parts never uploaded: {missing}")

        def chunks() -> Iterator[bytes]:
            # Each part's md5 is checked against the ETag the client sent, as S3 does (InvalidPart); raising here
            # abandons the temporary file, so no object appears and the upload stays open.
            for number, path in zip(numbers, paths, strict=True):
                digest = hashlib.md5(usedforsecurity=False)
                with open(path, "rb") as src:
                    for chunk in iter(lambda src=src: src.read(_CHUNK), b""):
                        digest.update(chunk)
                        yield chunk
                if digest.hexdigest() != etags[number]:
                    raise StorageError(f"part {number}: ETag does not match the uploaded part")

        self._store(bucket, key, chunks(), content_type=meta.get("content_type"), cache_control=None)
        shutil.rmtree(folder, ignore_errors=True)

    def abort_multipart(self, bucket, key, *, upload_id) -> None:
        try:
            folder, _ = self._upload_meta(bucket, key, upload_id)
        except ObjectNotFound:
            return
        shutil.rmtree(folder, ignore_errors=True)


def _iter_data(data: bytes | bytearray | memoryview | BinaryIO | None) -> Iterator[bytes]:
    if data is None:
        return iter([b""])
    if isinstance(data, (bytes, bytearray, memoryview)):
        return iter([bytes(data)])
    return iter(lambda: data.read(_CHUNK), b"")


# ---------------------------------------------------------------------------
# R2 (S3 API)
# ---------------------------------------------------------------------------
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})


def r2_client(*, max_attempts: int = 5):
    """An S3 client for R2_ENDPOINT_URL with the R2_* credentials (without them, boto3's own chain)."""
    credentials = {}
    if settings.R2_ACCESS_KEY_ID and settings.R2_SECRET_ACCESS_KEY:
        credentials = {"aws_access_key_id": settings.R2_ACCESS_KEY_ID,
                       "aws_secret_access_key": settings.R2_SECRET_ACCESS_KEY}
    return aws_client("s3", read_timeout=60, max_attempts=max_attempts, endpoint_url=settings.R2_ENDPOINT_URL or None,
                      config_kwargs={"signature_version": "s3v4"}, **credentials)


class R2Storage(AwsAdapter, Storage):
    """Cloudflare R2, or any S3 API endpoint; with R2_ENDPOINT_URL empty it talks to AWS S3 (and to moto in tests)."""

    error_class = StorageError
    service_label = "s3"

    def make_client(self):
        return r2_client()

    def translate_error(self, what, exc):
        if aws_error_code(exc) in _NOT_FOUND_CODES:
            return ObjectNotFound(f"{self.service_label} {what}: {exc}")
        return super().translate_error(what, exc)

    @staticmethod
    def _extra(content_type: str | None, cache_control: str | None) -> dict:
        extra = {}
        if content_type:
            extra["ContentType"] = content_type
        if cache_control:
            extra["CacheControl"] = cache_control
        return extra

    def put(self, bucket, key, data, *, content_type=None, cache_control=None) -> None:
        extra = self._extra(content_type, cache_control)
        target = {"Bucket": bucket_name(bucket), "Key": validate_key(key)}
        if isinstance(data, (bytes, bytearray, memoryview)):
            self._call("put_object", self.client.put_object, Body=bytes(data), **target, **extra)
        else:
            self._call("upload_fileobj", self.client.upload_fileobj, Fileobj=data, **target, ExtraArgs=extra)

    def put_file(self, bucket, key, path, *, content_type=None, cache_control=None) -> None:
        self._call("upload_file", self.client.upload_file, Filename=os.fspath(path), Bucket=bucket_name(bucket),
                   Key=validate_key(key), ExtraArgs=self._extra(content_type, cache_control))

    def get_to_file(self, bucket, key, path) -> int:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._call("download_file", self.client.download_file, Bucket=bucket_name(bucket), Key=validate_key(key),
                   Filename=os.fspath(target))
        return target.stat().st_size

    def head(self, bucket, key) -> ObjectInfo | None:
        answer = self._call("head_object", self.client.head_object, ignore_codes=_NOT_FOUND_CODES,
                            Bucket=bucket_name(bucket), Key=validate_key(key))
        if answer is None:
            return None
        return ObjectInfo(
            key=key,
            size=answer["ContentLength"],
            content_type=answer.get("ContentType"),
            etag=(answer.get("ETag") or "").strip('"') or None,
            last_modified=answer.get("LastModified"),
        )

    def delete(self, bucket, key) -> None:
        self._call("delete_object", self.client.delete_object, ignore_codes=_NOT_FOUND_CODES,
                   Bucket=bucket_name(bucket), Key=validate_key(key))

    def _pages(self, bucket: str, prefix: str) -> Iterator[list[dict]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket_name(bucket), Prefix=validate_prefix(prefix)):
                yield page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise self.translate_error("list_objects_v2", exc) from exc

    def list_prefix(self, bucket, prefix) -> Iterator[ObjectInfo]:
        for contents in self._pages(bucket, prefix):
            for item in contents:
                yield ObjectInfo(
                    key=item["Key"],
                    size=item["Size"],
                    content_type=None,
                    etag=(item.get("ETag") or "").strip('"') or None,
                    last_modified=item.get("LastModified"),
                )

    def delete_keys(self, bucket, keys) -> int:
        keys = list(keys)
        for batch in in_batches(keys, S3_DELETE_BATCH):
            answer = self._call("delete_objects", self.client.delete_objects, Bucket=bucket_name(bucket),
                                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                raise StorageError(f"delete_objects refused {len(errors)} keys, first: {errors[0]}")
        return len(keys)

    def _presign(self, operation: str, params: dict, expires: int) -> str:
        return self._call("presign", self.client.generate_presigned_url, ClientMethod=operation, Params=params,
                          ExpiresIn=int(expires))

    def presign_get(self, bucket, key, *, expires=300, download_name=None) -> str:
        params = {"Bucket": bucket_name(bucket), "Key": validate_key(key)}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition(download_name)
        return self._presign("get_object", params, expires)

    def presign_put(self, bucket, key, *, expires=900, content_type=None) -> str:
        params = {"Bucket": bucket_name(bucket), "Key": validate_key(key)}
        if content_type:
            params["ContentType"] = content_type
        return self._presign("put_object", params, expires)

    def create_multipart(self, bucket, key, *, content_type=None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        answer = self._call("create_multipart_upload", self.client.create_multipart_upload,
                            Bucket=bucket_name(bucket), Key=validate_key(key), **extra)
        return answer["UploadId"]

    def presign_part(self, bucket, key, *, upload_id, part_number, expires=3600) -> str:
        params = {"Bucket": bucket_name(bucket), "Key": validate_key(key), "UploadId": upload_id,
                  "PartNumber": int(part_number)}
        return self._presign("upload_part", params, expires)

    def complete_multipart(self, bucket, key, *, upload_id, parts) -> None:
        ordered = sorted(({"PartNumber": int(p["PartNumber"]), "ETag": p["ETag"]} for p in parts),
                         key=lambda p: p["PartNumber"])
        self._call("complete_multipart_upload", self.client.complete_multipart_upload, Bucket=bucket_name(bucket),
                   Key=validate_key(key), UploadId=upload_id, MultipartUpload={"Parts": ordered})

    def abort_multipart(self, bucket, key, *, upload_id) -> None:
        self._call("abort_multipart_upload", self.client.abort_multipart_upload, ignore_codes=_NOT_FOUND_CODES,
                   Bucket=bucket_name(bucket), Key=validate_key(key), UploadId=upload_id)


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
_storage_slot: AdapterSlot[Storage] = AdapterSlot(lambda: _build_storage())


def get_storage() -> Storage:
    """The adapter chosen by settings.STORAGE_BACKEND, built once per process."""
    return _storage_slot.get()


def _build_storage() -> Storage:
    backend = settings.STORAGE_BACKEND
    if backend == "local":
        return LocalStorage(settings.LOCAL_STORAGE_DIR, base_url=settings.API_BASE_URL)
    if backend == "r2":
        return R2Storage()
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be 'local' or 'r2', not {backend!r}")


def reset_storage_for_tests() -> None:
    _storage_slot.reset()
