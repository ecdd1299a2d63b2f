"""A fake Solapi on loopback for the messaging port's tests: the HTTP API the Solapi adapter uses, with its
signature check, the carriers' length and type rules, per-message status codes chosen by rules, and failures
on demand (an HTTP error, a hang the test releases, an accepted message that later fails)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from apps.integrations import message_rules as rules

PRICES = {"SMS": 20, "LMS": 50, "ATA": 13}
MAX_MESSAGES = 10_000
_AUTH = re.compile(r"^HMAC-SHA256 apiKey=([^,]+), date=([^,]+), salt=([^,]+), signature=([0-9a-f]{64})$")
_SKEW = timedelta(minutes=15)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict | None


@dataclass
class FakeSolapi:
    api_key: str = "NCSFAKEKEY"
    api_secret: str = "fake-secret-of-thirty-two-chars!"
    senders: dict[str, str] = field(default_factory=lambda: {"0212345678": "ACTIVE"})
    templates: dict[str, str] = field(default_factory=lambda: {"TPL_APPROVED": "APPROVED"})
    # Per-message code answered at once, by recipient number (anything but "2000" refuses the message).
    codes_by_to: dict[str, str] = field(default_factory=dict)
    # Accepted now, reported with this code once settle() runs.
    later_codes_by_to: dict[str, str] = field(default_factory=dict)
    balance: int = 10_000_000
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._failures: list[int] = []
        self._hang_next = False
        self.release_event = threading.Event()
        self.hung = threading.Event()
        self._salts: set[str] = set()
        self._server: ThreadingHTTPServer | None = None

    # -- Control --------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSolapi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, status: int = 500, *, times: int = 1) -> None:
        """The next `times` requests answer `status` without doing anything."""
        self._failures += [status] * times

    def hang_next(self) -> None:
        """The next request is carried out (a send registers its messages) and then not answered until release()."""
        self._hang_next = True

    def release(self) -> None:
        self.release_event.set()

    def settle(self) -> None:
        """The carriers answer: every pending message becomes delivered (4000) or its later failure code."""
        with self._lock:
            for message in self.messages.values():
                if message["statusCode"] == rules.ACCEPTED:
                    message["statusCode"] = self.later_codes_by_to.get(message["to"], rules.DELIVERED)

    @property
    def sends(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/messages/v4/send-many/detail"]

    # -- Behaviour ------------------------------------------------------------
    def authorize(self, header: str, now: datetime) -> tuple[str, str] | None:
        """(errorCode, errorMessage) of a refused Authorization header, None when it is valid."""
        match = _AUTH.match(header or "")
        if not match:
            return "InvalidAuthorizationHeader", "Authorization header is malformed"
        api_key, date, salt, signature = match.groups()
        if api_key != self.api_key:
            return "InvalidAPIKey", "unknown apiKey"
        expected = hmac.new(self.api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch", "signature does not match"
        try:
            signed_at = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return "InvalidDate", "date is not ISO 8601"
        if abs(now - signed_at) > _SKEW:
            return "RequestTimeTooSkewed", "date is more than 15 minutes away"
        with self._lock:
            if salt in self._salts:
                return "DuplicatedSignature", "salt already used"
            self._salts.add(salt)
        return None

    def send_many(self, body: dict) -> tuple[int, dict]:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
            return 400, {"errorCode": "ValidationError", "errorMessage": "messages: 1 to 10,000 messages"}
        group_id = "G4V" + uuid.uuid4().hex[:24].upper()
        accepted, failed = [], []
        with self._lock:
            for message in messages:
                item = {"messageId": "M4V" + uuid.uuid4().hex[:24].upper(), "groupId": group_id,
                        "to": message.get("to", ""), "from": message.get("from", ""), "type": message.get("type"),
                        "customFields": message.get("customFields") or {}, "country": "82"}
                code, reason = self._answer(message)
                item.update(statusCode=code, statusMessage=reason or "정상 접수(이통사로 접수 예정)")
                self.messages[item["messageId"]] = dict(item)
                (accepted if code == rules.ACCEPTED else failed).append(item)
        count = {"total": len(messages), "registeredSuccess": len(accepted), "registeredFailed": len(failed)}
        return 200, {"groupInfo": {"groupId": group_id, "status": "SENDING", "count": count},
                     "messageList": accepted, "failedMessageList": failed}

    def _answer(self, message: dict) -> tuple[str, str]:
        violation = rules.message_rule_violation(
            type=message.get("type", ""), text=message.get("text") or "", subject=message.get("subject") or "",
            has_kakao_options=bool((message.get("kakaoOptions") or {}).get("pfId"))
            and bool((message.get("kakaoOptions") or {}).get("templateId")))
        if violation:
            return violation
        if self.senders.get(message.get("from", "")) != "ACTIVE":
            return rules.UNREGISTERED_SENDER, "등록되지 않은 발신번호"
        code = self.codes_by_to.get(message.get("to", ""))
        if code and code != rules.ACCEPTED:
            return code, f"fake rule {code}"
        price = PRICES[message["type"]]
        if self.balance < price:
            return rules.NO_BALANCE, "잔액 부족"
        self.balance -= price
        return rules.ACCEPTED, ""

    def list_messages(self, query: dict[str, str]) -> dict:
        criteria, value = query.get("criteria", ""), query.get("value", "")
        with self._lock:
            if criteria == "messageId":
                found = {k: dict(v) for k, v in self.messages.items() if k == value}
            elif criteria.startswith("customFields."):
                name = criteria.split(".", 1)[1]
                found = {k: dict(v) for k, v in self.messages.items() if v["customFields"].get(name) == value}
            else:
                found = {k: dict(v) for k, v in self.messages.items()}
        return {"startKey": None, "nextKey": None, "limit": int(query.get("limit", 20)), "messageList": found}

    def route(self, method: str, path: str, query: dict[str, str], body: dict | None) -> tuple[int, dict]:
        if method == "POST" and path == "/messages/v4/send-many/detail":
            return self.send_many(body or {})
        if method == "GET" and path == "/messages/v4/list":
            return 200, self.list_messages(query)
        if method == "GET" and path == "/cash/v1/balance":
            return 200, {"balance": self.balance, "point": 0}
        if method == "GET" and path == "/senderid/v1/numbers":
            return 200, {"limit": 100, "nextKey": None,
                         "senderIds": [{"phoneNumber": n, "status": s} for n, s in self.senders.items()]}
        if method == "GET" and path.startswith("/kakao/v2/templates/"):
            template_id = unquote(path.rsplit("/", 1)[1])
            if template_id not in self.templates:
                return 404, {"errorCode": "NotFound", "errorMessage": "template not found"}
            return 200, {"templateId": template_id, "status": self.templates[template_id]}
        return 404, {"errorCode": "NotFound", "errorMessage": f"{method} {path}"}


def _handler_for(fake: FakeSolapi):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def do_GET(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def _handle(self):
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            fake.requests.append(RecordedRequest(self.command, parts.path, query, dict(self.headers), body))
            if fake._failures:
                status = fake._failures.pop(0)
                return self._reply(status, {"errorCode": "InternalError" if status >= 500 else "TooManyRequests",
                                            "errorMessage": f"fake failure {status}"})
            refusal = fake.authorize(self.headers.get("Authorization", ""), datetime.now(UTC))
            if refusal:
                return self._reply(401, {"errorCode": refusal[0], "errorMessage": refusal[1]})
            status, answer = fake.route(self.command, parts.path, query, body)
            if fake._hang_next:
                fake._hang_next = False
                fake.hung.set()
                fake.release_event.wait()
            self._reply(status, answer)

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to answer

    return Handler
