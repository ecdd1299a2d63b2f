"""Error events leave with no personal data, and Sentry starts only when SENTRY_DSN is set. Nothing is sent anywhere:
the scrubbers are pure functions, init is recorded, and the process test swaps the transport for a list."""

import json

import pytest

from apps.core import error_tracking
from apps.core.error_tracking import FILTERED, init_error_tracking, scrub_breadcrumb, scrub_event

from .settings_support import run_with_settings

PERSONAL = ["김민수", "박지영", "01012345678", "010-9876-5432", "minsu@example.com", "Bearer eyJhbGci",
            "sessionid=abc123", "internal-secret-token", "수학 보강 안내", "홍길동"]


def django_request_event() -> dict:
    """The shape sentry-sdk's Django integration and logging integration produce (sentry-sdk 2.x)."""
    return {
        "level": "error",
        "logger": "django.request",
        "transaction": "/api/v1/students/{pk}/",
        "request": {
            "url": "https://api.academy.example/api/v1/students/",
            "method": "POST",
            "query_string": "search=010-9876-5432&page=2",
            "headers": {"Host": "api.academy.example", "User-Agent": "Mozilla/5.0",
                        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9", "Cookie": "sessionid=abc123",
                        "X-Internal-Token": "internal-secret-token", "X-Forwarded-For": "203.0.113.9",
                        "Content-Type": "application/json"},
            "cookies": {"sessionid": "abc123"},
            "data": {"name": "김민수", "parent_phone": "01012345678", "school": "서울중"},
            "env": {"REMOTE_ADDR": "10.0.1.5", "SERVER_NAME": "api"},
        },
        "user": {"id": 42, "username": "teacher1", "email": "minsu@example.com", "ip_address": "203.0.113.9"},
        "exception": {"values": [{
            "type": "IntegrityError",
            "value": 'duplicate key value violates unique constraint "uniq_student"\nDETAIL:  Key (tenant_id, name, '
                     "parent_phone)=(1, 김민수, 01012345678) already exists.",
            "module": "django.db.utils",
            "stacktrace": {"frames": [{"filename": "apps/domains/students/services.py", "function": "student_create",
                                       "lineno": 88, "context_line": "    student.save()",
                                       "vars": {"name": "'김민수'", "parent_phone": "'01012345678'"}}]},
        }]},
        "logentry": {"message": "Internal Server Error: %s", "params": ["/api/v1/students/?search=박지영"],
                     "formatted": "Internal Server Error: /api/v1/students/?search=박지영"},
        "extra": {"job_id": "7d3c1f2e-8a4b-4c6d-9e0f-123456789abc", "tenant_id": 3, "parent_phone": "01012345678",
                  "student_name": "김민수", "message_text": "수학 보강 안내", "rows": [{"phone": "010-9876-5432"}]},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.7"},
                     "trace": {"trace_id": "a" * 32, "span_id": "b" * 16},
                     "student": {"name": "홍길동", "grade": 2}},
        "tags": {"kind": "excel_import", "search": "010-9876-5432"},
        "breadcrumbs": {"values": [
            {"category": "query", "message": "INSERT INTO students_student (name, parent_phone) VALUES (%s, %s)",
             "data": {"db.params": ["김민수", "01012345678"], "db.executemany": False}},
            {"category": "httplib", "type": "http",
             "data": {"url": "http://10.0.1.10:8000/api/v1/internal/jobs/1/claim/?token=internal-secret-token",
                      "method": "POST", "status_code": 200, "http.query": "token=internal-secret-token"}},
            {"category": "apps.domains.enrollment", "message": "row skipped for 박지영 010-9876-5432",
             "data": {"row": 7, "parent_phone": "010-9876-5432"}, "level": "warning"},
        ]},
    }


def test_a_django_error_event_leaves_with_no_personal_data_anywhere():
    scrubbed = scrub_event(django_request_event(), {})

    text = json.dumps(scrubbed, ensure_ascii=False)
    assert [value for value in PERSONAL if value in text] == []


def test_the_request_keeps_method_path_parameter_names_and_harmless_headers_only():
    request = scrub_event(django_request_event(), {})["request"]

    assert request == {
        "method": "POST",
        "url": "https://api.academy.example/api/v1/students/",
        "query_string": f"search={FILTERED}&page={FILTERED}",
        "headers": {"Host": "api.academy.example", "User-Agent": "Mozilla/5.0", "Content-Type": "application/json"},
    }


def test_what_is_needed_to_debug_stays():
    scrubbed = scrub_event(django_request_event(), {})

    [exception] = scrubbed["exception"]["values"]
    assert exception["type"] == "IntegrityError"
    assert exception["value"] == ('duplicate key value violates unique constraint "uniq_student"\nDETAIL:  Key '
                                  f"(tenant_id, name, parent_phone)=({FILTERED}) already exists.")
    assert exception["stacktrace"]["frames"] == [{"filename": "apps/domains/students/services.py",
                                                  "function": "student_create", "lineno": 88,
                                                  "context_line": "    student.save()"}]
    assert scrubbed["user"] == {"id": 42}
    assert scrubbed["logentry"] == {"message": "Internal Server Error: %s",
                                    "formatted": "Internal Server Error: %s", "params": []}
    assert scrubbed["extra"] == {"job_id": "7d3c1f2e-8a4b-4c6d-9e0f-123456789abc", "tenant_id": 3,
                                 "parent_phone": FILTERED, "student_name": FILTERED, "message_text": FILTERED,
                                 "rows": [{"phone": FILTERED}]}
    assert scrubbed["contexts"]["runtime"] == {"name": "CPython", "version": "3.11.7"}
    assert scrubbed["contexts"]["student"] == {"name": FILTERED, "grade": FILTERED}
    assert scrubbed["tags"] == {"kind": "excel_import", "search": FILTERED}
    assert scrubbed["transaction"] == "/api/v1/students/{pk}/"


def test_breadcrumbs_lose_sql_parameters_query_values_and_personal_text():
    query, http, log = scrub_event(django_request_event(), {})["breadcrumbs"]["values"]

    assert query["data"] == {"db.executemany": False}
    assert query["message"] == "INSERT INTO students_student (name, parent_phone) VALUES (%s, %s)"
    assert http["data"] == {"url": f"http://10.0.1.10:8000/api/v1/internal/jobs/1/claim/?token={FILTERED}",
                            "method": "POST", "status_code": 200, "http.query": f"token={FILTERED}"}
    assert log["message"] == f"row skipped for {FILTERED} {FILTERED}"
    assert log["data"] == {"row": 7, "parent_phone": FILTERED}


@pytest.mark.parametrize("phone", ["01012345678", "010-1234-5678", "010 1234 5678", "010.1234.5678", "0111234567",
                                   "+82 10-1234-5678", "+821012345678"])
def test_every_way_staff_write_a_mobile_number_is_masked(phone):
    crumb = scrub_breadcrumb({"message": f"parent {phone} unreachable"}, {})

    assert crumb["message"] == f"parent {FILTERED} unreachable"


def test_ids_and_timestamps_that_are_not_phone_numbers_stay():
    crumb = scrub_breadcrumb({"message": "job 1700000000 row 12345678901234 tenant 1012345678"}, {})

    assert crumb["message"] == "job 1700000000 row 12345678901234 tenant 1012345678"


def test_the_event_given_is_not_modified():
    event = django_request_event()

    scrub_event(event, {})

    assert event == django_request_event()


class RecordingInit:
    def __init__(self):
        self.calls = []

    def __call__(self, **options):
        self.calls.append(options)


def test_no_dsn_starts_nothing(monkeypatch):
    import sentry_sdk

    init = RecordingInit()
    monkeypatch.setattr(sentry_sdk, "init", init)

    started = init_error_tracking(dsn="", environment="production", release="0.1.0")

    assert started is False
    assert init.calls == []


def test_a_dsn_starts_sentry_with_the_django_integration_no_pii_and_the_scrubbers(monkeypatch):
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    init = RecordingInit()
    monkeypatch.setattr(sentry_sdk, "init", init)

    started = init_error_tracking(dsn="https://public@sentry.invalid/1", environment="staging", release="1.2.3")

    assert started is True
    [options] = init.calls
    assert [type(i) for i in options.pop("integrations")] == [DjangoIntegration]
    assert options == {"dsn": "https://public@sentry.invalid/1", "environment": "staging", "release": "1.2.3",
                       "send_default_pii": False, "include_local_variables": False, "max_request_body_size": "never",
                       "before_send": error_tracking.scrub_event, "before_breadcrumb": error_tracking.scrub_breadcrumb}


CAPTURE = """
import json, logging, django
django.setup()
import sentry_sdk
from sentry_sdk.transport import Transport

client = sentry_sdk.get_client()
events = []

class Recording(Transport):
    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            events.append(event)

if client.is_active():
    client.transport = Recording(client.options)
    parent_phone = "01012345678"
    try:
        raise ValueError(f"no student 김민수 for {parent_phone}")
    except ValueError:
        logging.getLogger("apps.worker.runtime").exception("job_handler_crashed",
                                                           extra={"job_id": "j-1", "parent_phone": parent_phone})
    sentry_sdk.flush()
print(json.dumps({"active": client.is_active(), "events": events}, default=str, ensure_ascii=False))
"""


@pytest.mark.parametrize("module, environment", [
    ("dev", {}),
    ("worker", {"SECRET_KEY": "Zq3kV8pXw2Lr6Ny1Tb9Hc4Jm7Df0Gs5Ue8Ia3Oo6Pl1Kk4Mn7Bv2Cx5",
                "INTERNAL_WORKER_TOKEN": "iw-" + "7f3a9c1e5b" * 4, "DB_HOST": "db.internal"}),
])
def test_settings_start_sentry_only_with_a_dsn_and_events_reach_the_transport_scrubbed(tmp_path, module, environment):
    environment = {**environment, "DEV_SECRETS_DIR": str(tmp_path)}
    # Port 9 on loopback: were the transport not replaced, nothing could leave the machine.
    dsn = {"SENTRY_DSN": "http://public@127.0.0.1:9/1"}

    off = run_with_settings(module, environment, code=CAPTURE)
    on = run_with_settings(module, {**environment, **dsn}, code=CAPTURE)

    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout.strip().splitlines()[-1]) == {"active": False, "events": []}
    assert on.returncode == 0, on.stderr
    captured = json.loads(on.stdout.strip().splitlines()[-1])
    assert captured["active"] is True
    [event] = captured["events"]
    assert event["logentry"]["formatted"] == "job_handler_crashed"
    assert event["extra"]["job_id"] == "j-1"
    assert event["extra"]["parent_phone"] == FILTERED
    assert event["exception"]["values"][0]["value"] == f"no student {FILTERED} for {FILTERED}"
    assert "01012345678" not in json.dumps(event) and "김민수" not in json.dumps(event, ensure_ascii=False)
    assert all("vars" not in frame for frame in event["exception"]["values"][0]["stacktrace"]["frames"])
