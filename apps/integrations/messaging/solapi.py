"""ARCHITECTURE §3 messaging provider, production adapter: Solapi's HTTP API over requests (decision 0015).

Only this module speaks to Solapi. Nothing it logs carries a message body or a full phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.integrations import message_rules as rules
from apps.integrations.messaging import (
    DeliveryReport,
    MessageProvider,
    OutgoingMessage,
    ProviderError,
    ProviderUncertain,
    SendOutcome,
    in_send_batches,
)

logger = logging.getLogger(__name__)

SEND_PATH = "/messages/v4/send-many/detail"
LIST_PATH = "/messages/v4/list"
BALANCE_PATH = "/cash/v1/balance"
SENDER_IDS_PATH = "/senderid/v1/numbers"
TEMPLATE_PATH = "/kakao/v2/templates/{template_id}"
RECIPIENT_FIELD = "recipientId"
_AUTH_STATUSES = {401, 403}
_SENDER_STATES = {"ACTIVE": "APPROVED", "PENDING": "PENDING"}
_TEMPLATE_STATES = {"APPROVED": "APPROVED", "REJECTED": "REJECTED", "PENDING": "PENDING", "INSPECTING": "PENDING",
                    "REGISTERED": "PENDING"}


def authorization_header(api_key: str, api_secret: str, *, date: str | None = None, salt: str | None = None) -> str:
    """Solapi's HMAC-SHA256 header: signature = hex HMAC-SHA256(secret, date + salt)."""
    date = date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    salt = salt or secrets.token_hex(16)
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def _variable_key(name: str) -> str:
    # Solapi names AlimTalk variables as they appear in the template: "#{name}".
    return name if name.startswith("#{") and name.endswith("}") else f"#{{{name}}}"


def solapi_message(message: OutgoingMessage) -> dict:
    body = {"to": re.sub(r"\D", "", message.to), "from": re.sub(r"\D", "", message.sender), "text": message.text,
            "type": message.type, "autoTypeDetect": False, "customFields": {RECIPIENT_FIELD: message.recipient_id}}
    if message.subject:
        body["subject"] = message.subject
    if message.kakao is not None:
        body["kakaoOptions"] = {
            "pfId": message.kakao.pf_id, "templateId": message.kakao.template_id,
            "variables": {_variable_key(k): str(v) for k, v in message.kakao.variables.items()},
            # The domain decides the SMS fallback itself (charged as what was delivered): Solapi must not.
            "disableSms": True,
        }
    return body


def _report_state(code: str) -> str:
    if code == rules.DELIVERED:
        return "DELIVERED"
    if code in (rules.ACCEPTED, "3000"):
        return "SENT"
    return "FAILED"


class SolapiProvider(MessageProvider):
    def __init__(self, *, session: requests.Session | None = None):
        if not settings.SOLAPI_API_KEY or not settings.SOLAPI_API_SECRET:
            raise ImproperlyConfigured("MESSAGING_PROVIDER=solapi needs SOLAPI_API_KEY and SOLAPI_API_SECRET")
        self.base_url = settings.SOLAPI_BASE_URL.rstrip("/")
        self.timeout = (settings.MESSAGING_HTTP_CONNECT_TIMEOUT_SECONDS, settings.MESSAGING_HTTP_TIMEOUT_SECONDS)
        # A plain Session retries nothing once a request went out (urllib3 Retry(0, read=False)): a send is never
        # repeated behind the caller's back.
        self.session = session or requests.Session()

    # -- HTTP ---------------------------------------------------------------
    def _request(self, method: str, path: str, *, what: str, sending: list[str] | None = None,
                 ok_statuses: frozenset[int] = frozenset(), **kwargs) -> requests.Response:
        """One call. `sending`: the recipient ids a send carries, so an answer that may hide an accepted send
        becomes ProviderUncertain; a read-only query fails retryably instead."""
        headers = {"Authorization": authorization_header(settings.SOLAPI_API_KEY, settings.SOLAPI_API_SECRET)}
        try:
            response = self.session.request(method, self.base_url + path, headers=headers, timeout=self.timeout,
                                            **kwargs)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            raise ProviderError(f"solapi {what}: not connected ({type(exc).__name__})", permanent=False) from exc
        except requests.exceptions.ConnectionError as exc:
            if sending is not None and not _never_connected(exc):
                raise ProviderUncertain(f"solapi {what}: connection lost ({type(exc).__name__})",
                                        recipient_ids=sending) from exc
            raise ProviderError(f"solapi {what}: not connected ({type(exc).__name__})", permanent=False) from exc
        except requests.exceptions.RequestException as exc:
            # A read timeout or a broken answer: the request went out.
            if sending is not None:
                raise ProviderUncertain(f"solapi {what}: no answer ({type(exc).__name__})",
                                        recipient_ids=sending) from exc
            raise ProviderError(f"solapi {what}: no answer ({type(exc).__name__})", permanent=False) from exc
        status = response.status_code
        if status < 400 or status in ok_statuses:
            return response
        code, text = _error_of(response)
        logger.warning("solapi call refused", extra={"call": what, "status": status, "error_code": code})
        if status == 429 or status >= 500:
            if sending is not None:
                raise ProviderUncertain(f"solapi {what}: HTTP {status} {code}", recipient_ids=sending)
            raise ProviderError(f"solapi {what}: HTTP {status} {code}", permanent=False, code=code)
        # 401/403 (bad key, signature, permission) and every other 4xx: the same request cannot succeed.
        raise ProviderError(f"solapi {what}: HTTP {status} {code} {text}", permanent=True, code=code)

    def _json(self, response: requests.Response, *, what: str, sending: list[str] | None = None) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            if sending is not None:
                raise ProviderUncertain(f"solapi {what}: unreadable answer", recipient_ids=sending) from exc
            raise ProviderError(f"solapi {what}: unreadable answer", permanent=False) from exc
        if not isinstance(body, dict):
            if sending is not None:
                raise ProviderUncertain(f"solapi {what}: unexpected answer", recipient_ids=sending)
            raise ProviderError(f"solapi {what}: unexpected answer", permanent=False)
        return body

    # -- Port ---------------------------------------------------------------
    def send_many(self, messages):
        messages = list(messages)
        outcomes: list[SendOutcome] = []
        for batch in in_send_batches(messages):
            try:
                outcomes += self._send_batch(batch)
            except (ProviderError, ProviderUncertain) as exc:
                # Earlier batches first, then what the failing batch itself answered (a partial answer).
                exc.completed = outcomes + exc.completed
                raise
        return outcomes

    def _send_batch(self, batch: list[OutgoingMessage]) -> list[SendOutcome]:
        ids = [m.recipient_id for m in batch]
        response = self._request("POST", SEND_PATH, what="send-many", sending=ids,
                                 json={"messages": [solapi_message(m) for m in batch]})
        body = self._json(response, what="send-many", sending=ids)
        answered: dict[str, SendOutcome] = {}
        for item in body.get("messageList") or []:
            outcome = _send_outcome(item, accepted=str(item.get("statusCode", "")) == rules.ACCEPTED)
            if outcome:
                answered[outcome.recipient_id] = outcome
        for item in body.get("failedMessageList") or []:
            outcome = _send_outcome(item, accepted=False)
            if outcome:
                answered[outcome.recipient_id] = outcome
        missing = [i for i in ids if i not in answered]
        group = (body.get("groupInfo") or {}).get("groupId", "")
        logger.info("solapi send-many", extra={"group_id": group, "messages": len(batch),
                                               "accepted": sum(o.accepted for o in answered.values()),
                                               "unanswered": len(missing)})
        if missing:
            raise ProviderUncertain(f"solapi send-many: {len(missing)} messages missing from the answer",
                                    recipient_ids=missing,
                                    completed=[answered[i] for i in ids if i in answered])
        return [answered[i] for i in ids]

    def reports(self, recipient_ids):
        found: dict[str, DeliveryReport] = {}
        for recipient_id in dict.fromkeys(recipient_ids):
            params = {"criteria": f"customFields.{RECIPIENT_FIELD}", "cond": "eq", "value": recipient_id,
                      "limit": 1}
            body = self._json(self._request("GET", LIST_PATH, what="list", params=params), what="list")
            messages = body.get("messageList") or {}
            items = messages.values() if isinstance(messages, dict) else messages
            report = None
            for item in items:
                if (item.get("customFields") or {}).get(RECIPIENT_FIELD) == recipient_id:
                    code = str(item.get("statusCode", ""))
                    state = _report_state(code)
                    reason = str(item.get("reason") or item.get("statusMessage") or "") if state == "FAILED" else ""
                    report = DeliveryReport(recipient_id, str(item.get("messageId", "")), state, code, reason)
                    break
            found[recipient_id] = report or DeliveryReport(recipient_id, "", "UNKNOWN", "", "unknown to Solapi")
        return found

    def balance(self):
        body = self._json(self._request("GET", BALANCE_PATH, what="balance"), what="balance")
        try:
            return Decimal(str(body.get("balance", 0)))
        except InvalidOperation as exc:
            raise ProviderError("solapi balance: not a number", permanent=False) from exc

    def sender_number_status(self, number):
        wanted = re.sub(r"\D", "", number)
        params: dict = {"limit": 100}
        while True:
            body = self._json(self._request("GET", SENDER_IDS_PATH, what="senderid", params=params),
                              what="senderid")
            for sender in body.get("senderIds") or []:
                if re.sub(r"\D", "", str(sender.get("phoneNumber", ""))) == wanted:
                    return _SENDER_STATES.get(str(sender.get("status", "")).upper(), "NOT_REGISTERED")
            next_key = body.get("nextKey")
            if not next_key:
                return "NOT_REGISTERED"
            params = {"limit": 100, "startKey": next_key}

    def template_status(self, template_id):
        if not template_id.strip():
            return "NOT_FOUND"
        response = self._request("GET", TEMPLATE_PATH.format(template_id=quote(template_id, safe="")),
                                 what="template", ok_statuses=frozenset({404}))
        if response.status_code == 404:
            return "NOT_FOUND"
        body = self._json(response, what="template")
        status = str(body.get("status") or "")
        if not status and body.get("codes"):
            status = str(body["codes"][0].get("status", ""))
        return _TEMPLATE_STATES.get(status.upper(), "PENDING")


def _send_outcome(item: dict, *, accepted: bool) -> SendOutcome | None:
    recipient_id = (item.get("customFields") or {}).get(RECIPIENT_FIELD)
    if not recipient_id:
        return None
    return SendOutcome(recipient_id=str(recipient_id), accepted=accepted,
                       provider_message_id=str(item.get("messageId", "")), code=str(item.get("statusCode", "")),
                       reason="" if accepted else str(item.get("statusMessage", "")))


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("errorCode", "")), str(body.get("errorMessage", ""))[:200]


def _never_connected(exc: BaseException) -> bool:
    """True when the connection was refused or the name did not resolve: nothing was sent."""
    import urllib3.exceptions

    candidates = [exc, *exc.args]
    candidates += [getattr(c, "reason", None) for c in candidates]
    return any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in candidates)
