import re
from wsgiref.util import setup_testing_defaults

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

EXPECTED_PATHS = [
    "/api/v1/students/", "/api/v1/students/{id}/", "/api/v1/students/{id}/restore/", "/api/v1/students/deleted/",
    "/api/v1/students/deleted_duplicates/", "/api/v1/students/deleted_duplicates/fix/", "/api/v1/lectures/",
    "/api/v1/lectures/{id}/", "/api/v1/lectures/{lecture_id}/sessions/", "/api/v1/sessions/{id}/",
    "/api/v1/sessions/{id}/attendance/", "/api/v1/enrollments/", "/api/v1/enrollments/{id}/",
    "/api/v1/auth/token/", "/api/v1/auth/me/", "/health",
]


@pytest.fixture
def schema(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_lists_the_paths(schema):
    assert set(EXPECTED_PATHS) <= set(schema["paths"])
    assert "/health/" not in schema["paths"]


def test_student_list_documents_filters_and_pagination(schema):
    operation = schema["paths"]["/api/v1/students/"]["get"]
    names = {p["name"] for p in operation["parameters"]}

    assert {"name", "school", "grade", "school_type", "lecture", "search", "ordering", "page"} <= names
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "PaginatedStudentOutputList")


HANGUL = re.compile(r"[\uac00-\ud7a3]")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_korean_summary_and_description(schema):
    # Swagger UI lists operations by summary; the description says what it does, who may call it, its errors.
    undocumented = [
        name for name, operation in _operations(schema)
        if not HANGUL.search(operation.get("summary", "")) or not HANGUL.search(operation.get("description", ""))
    ]

    assert len(list(_operations(schema))) >= len(EXPECTED_PATHS)
    assert undocumented == []


def test_every_operation_is_tagged_with_a_documented_domain(schema):
    documented_tags = {tag["name"] for tag in schema["tags"]}

    untagged = [name for name, operation in _operations(schema)
                if len(operation.get("tags", [])) != 1 or operation["tags"][0] not in documented_tags]

    assert untagged == []


def test_schema_description_explains_auth_errors_and_job_polling(schema):
    description = schema["info"]["description"]

    for needle in ("/api/v1/auth/token/", "Authorization: Bearer", '"code"', '"message"', '"details"',
                   "/api/v1/jobs/{job_id}/"):
        assert needle in description


def test_the_student_search_says_phones_may_be_typed_with_dashes(schema):
    operation = schema["paths"]["/api/v1/students/"]["get"]
    search = next(p for p in operation["parameters"] if p["name"] == "search")

    assert "010-1234" in search["description"]


def test_swagger_ui_is_served(client, db):
    assert client.get("/api/docs/").status_code == 200


SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
SWAGGER_ASSETS = [SIDECAR + name for name in (
    "favicon-32x32.png", "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")]


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', html)


def _media_type(content_type: str) -> str:
    media_type = content_type.split(";")[0].strip()
    # Both names of JavaScript are right; which one depends on the Python and WhiteNoise versions.
    return "text/javascript" if media_type == "application/javascript" else media_type


EXPECTED_MEDIA_TYPES = {".png": "image/png", ".css": "text/css", ".js": "text/javascript"}


def _assert_assets_answer(get) -> None:
    for url in SWAGGER_ASSETS:
        status, content_type, body = get(url)
        assert (url, status) == (url, 200)
        assert _media_type(content_type) == EXPECTED_MEDIA_TYPES["." + url.rsplit(".", 1)[1]]
        assert len(body) > 0


def test_swagger_ui_loads_its_files_from_the_app_not_a_cdn(client, db):
    # Without internet (this API's production network) CDN-hosted files leave the docs page blank.
    html = client.get("/api/docs/").content.decode()

    assert sorted(_asset_urls(html)) == sorted(SWAGGER_ASSETS)
    assert re.findall(r"(?:https?:)?//[\w.-]+", html) == []


def _wsgi_get(app, path: str) -> tuple[int, str, bytes]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        chunks.close()
    return int(started["status"].split()[0]), started["headers"].get("Content-Type", ""), body


@pytest.fixture
def keep_test_connection(db):
    """Requests through a real WSGI handler keep the test's transaction open, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_swagger_ui_files_are_served_by_runserver_in_development(settings, keep_test_connection):
    # `make run`: runserver wraps the app in StaticFilesHandler when DEBUG, serving from the installed apps.
    settings.DEBUG = True
    app = StaticFilesHandler(WSGIHandler())

    status, _, page = _wsgi_get(app, "/api/docs/")

    assert status == 200
    assert sorted(_asset_urls(page.decode())) == sorted(SWAGGER_ASSETS)
    _assert_assets_answer(lambda url: _wsgi_get(app, url))


def test_swagger_ui_files_are_served_by_whitenoise_once_collected(settings, tmp_path):
    # Production: gunicorn, DEBUG off, WhiteNoise serving what the image build collected into STATIC_ROOT.
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    client = Client()  # a new client loads WhiteNoise afresh, over the new STATIC_ROOT

    def get(url):
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, response["Content-Type"], body

    assert settings.DEBUG is False
    _assert_assets_answer(get)


def test_schema_generates_without_warnings(db, tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/students/" in (tmp_path / "schema.yml").read_text()


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _unbounded_integers(schema: dict, node: dict, where: str, seen: set) -> list[str]:
    """Integers a client may send that the schema does not bound (readOnly fields are never sent)."""
    ref = node.get("$ref")
    if ref in seen:
        return []
    if ref:
        seen = seen | {ref}
    node = _resolve(schema, node)
    found = []
    if node.get("type") == "integer" and not node.get("readOnly") and not {"minimum", "maximum"} <= set(node):
        found.append(where)
    for key in ("allOf", "oneOf", "anyOf"):
        for index, child in enumerate(node.get(key, [])):
            found += _unbounded_integers(schema, child, f"{where}/{key}{index}", seen)
    if "items" in node:
        found += _unbounded_integers(schema, node["items"], f"{where}[]", seen)
    for name, child in node.get("properties", {}).items():
        if not _resolve(schema, child).get("readOnly"):
            found += _unbounded_integers(schema, child, f"{where}.{name}", seen)
    return found


def test_every_integer_a_client_sends_is_bounded(schema):
    # An unbounded integer reaches Postgres and is a 500 past the column's range: use apps.core.fields/filters.
    unbounded = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                unbounded += _unbounded_integers(schema, parameter["schema"],
                                                 f"{method} {path} ?{parameter['name']}", set())
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                unbounded += _unbounded_integers(schema, content["schema"], f"{method} {path} {media_type}", set())

    assert unbounded == []


def test_every_operation_documents_the_error_shape(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message", "details"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "500"):
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert {"code", "message", "details"} <= set(_resolve(schema, body)["required"]), \
                    f"{method} {path} {status}"


def test_integer_path_ids_state_their_range(schema):
    parameter = schema["paths"]["/api/v1/students/{id}/"]["get"]["parameters"][0]

    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_an_event_stream_documents_its_events(schema):
    content = schema["paths"]["/api/v1/jobs/{job_id}/events/"]["get"]["responses"]["200"]["content"]

    assert content["text/event-stream"]["schema"]["properties"]["data"] == {"type": "string"}
