"""ARCHITECTURE §3 local storage adapter over HTTP: the views its presigned URLs point at.

The signature in `?sig=` is the only authentication: these URLs are handed to browsers and workers that hold no
session, exactly like R2 presigned URLs.
"""

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import ForbiddenError, NotFoundError, ServiceUnavailableError
from apps.integrations.storage import (
    InvalidKey,
    LocalStorage,
    ObjectNotFound,
    SignatureExpired,
    SignatureInvalid,
    StorageError,
    content_disposition,
    get_storage,
)


def _local_storage() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFoundError("LOCAL_STORAGE_DISABLED", "로컬 저장소를 사용하지 않는 환경입니다.")
    return storage


def _verify(request, *, bucket: str, key: str, part: bool = False):
    storage = _local_storage()
    try:
        # HEAD is answered by the GET view, so a GET signature covers it (as on S3).
        method = "GET" if request.method == "HEAD" else request.method
        return storage, storage.verify(request.query_params.get("sig", ""), method=method, bucket=bucket, key=key,
                                      part=part)
    except SignatureExpired:
        raise ForbiddenError("SIGNATURE_EXPIRED", "주소의 유효 시간이 지났습니다. 새 주소를 받아 주세요.")
    except SignatureInvalid:
        raise ForbiddenError("SIGNATURE_INVALID", "서명이 올바르지 않은 주소입니다.")


# Presigned-URL targets of the embedded storage, not part of the public API contract.
@extend_schema(exclude=True)
class LocalObjectApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request, bucket: str, key: str):
        storage, grant = _verify(request, bucket=bucket, key=key)
        try:
            handle, info, meta = storage.open(bucket, key)
        except (ObjectNotFound, InvalidKey, ValueError):
            raise NotFoundError("OBJECT_NOT_FOUND", "파일을 찾을 수 없습니다.")
        response = FileResponse(handle, content_type=info.content_type or "application/octet-stream")
        if meta.get("cache_control"):
            # As R2 answers with the Cache-Control an object was stored with (HLS segments: immutable).
            response["Cache-Control"] = meta["cache_control"]
        if grant.download_name:
            response["Content-Disposition"] = content_disposition(grant.download_name)
        if info.etag:
            response["ETag"] = f'"{info.etag}"'
        return response

    def put(self, request, bucket: str, key: str):
        storage, grant = _verify(request, bucket=bucket, key=key)
        content_type = grant.content_type or request.content_type or None
        try:
            # The raw WSGI stream (None for an empty body): never parsed nor held in memory whole.
            storage.put(bucket, key, request.stream, content_type=content_type)
        except StorageError:
            raise ServiceUnavailableError("STORAGE_WRITE_FAILED", "파일을 저장하지 못했습니다.")
        info = storage.head(bucket, key)
        response = Response(status=200)
        response["ETag"] = f'"{info.etag}"'
        return response


@extend_schema(exclude=True)
class LocalPartApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def put(self, request, bucket: str, key: str):
        storage, grant = _verify(request, bucket=bucket, key=key, part=True)
        try:
            etag = storage.store_part(bucket, key, upload_id=grant.upload_id, part_number=grant.part_number,
                                      stream=request.stream)
        except ObjectNotFound:
            raise NotFoundError("UPLOAD_NOT_FOUND", "업로드를 찾을 수 없습니다.")
        except StorageError:
            raise ServiceUnavailableError("STORAGE_WRITE_FAILED", "파일을 저장하지 못했습니다.")
        response = Response(status=200)
        response["ETag"] = etag
        return response
