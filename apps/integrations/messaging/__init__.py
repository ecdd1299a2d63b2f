"""ARCHITECTURE §3 messaging provider port: one interface, Solapi in production, the outbox table embedded.

Errors follow healthchecks' TransportError: `ProviderError(permanent=...)` says whether trying again can help, and
`ProviderUncertain` means the provider may have taken the messages — the caller records UNKNOWN and never resends;
`reports()` (asked by our recipient id) settles them later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.integrations.aws import AdapterSlot

MessageType = Literal["SMS", "LMS", "ATA"]
ReportState = Literal["SENT", "DELIVERED", "FAILED", "UNKNOWN"]
SenderStatus = Literal["APPROVED", "PENDING", "NOT_REGISTERED"]
TemplateStatus = Literal["APPROVED", "PENDING", "REJECTED", "NOT_FOUND"]
MAX_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class KakaoOptions:
    pf_id: str
    template_id: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingMessage:
    recipient_id: str
    to: str
    sender: str
    type: MessageType
    text: str
    subject: str = ""
    kakao: KakaoOptions | None = None


@dataclass(frozen=True)
class SendOutcome:
    recipient_id: str
    accepted: bool
    provider_message_id: str
    code: str
    reason: str


@dataclass(frozen=True)
class DeliveryReport:
    recipient_id: str
    provider_message_id: str
    state: ReportState
    code: str
    reason: str


class ProviderError(Exception):
    """The provider refused the whole call or could not be reached before anything was sent.

    `permanent`: trying again cannot help (bad credentials, a refused request). `completed`: outcomes of the
    batches that went through before this one failed (send_many splits a long list).
    """

    def __init__(self, message: str, *, permanent: bool, code: str = "", completed: list[SendOutcome] | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.completed = list(completed or [])


class ProviderUncertain(Exception):
    """The request may have reached the provider (a timeout after sending, a reset, a 5xx or 429 on a send): the
    messages are UNKNOWN, never to be resent; `reports()` settles them."""

    def __init__(self, message: str, *, recipient_ids: list[str], completed: list[SendOutcome] | None = None):
        super().__init__(message)
        self.recipient_ids = list(recipient_ids)
        self.completed = list(completed or [])


class MessageProvider:
    """The interface every adapter implements."""

    def send_many(self, messages: list[OutgoingMessage]) -> list[SendOutcome]:
        """One outcome per message, in order; one provider call per MESSAGING_BATCH_SIZE messages."""
        raise NotImplementedError

    def reports(self, recipient_ids: list[str]) -> dict[str, DeliveryReport]:
        """What the provider knows of each recipient id (UNKNOWN when it knows nothing)."""
        raise NotImplementedError

    def balance(self) -> Decimal:
        raise NotImplementedError

    def sender_number_status(self, number: str) -> SenderStatus:
        raise NotImplementedError

    def template_status(self, template_id: str) -> TemplateStatus:
        raise NotImplementedError


def batch_size() -> int:
    return max(1, min(int(settings.MESSAGING_BATCH_SIZE), MAX_BATCH_SIZE))


def in_send_batches(messages: list[OutgoingMessage]):
    size = batch_size()
    for start in range(0, len(messages), size):
        yield messages[start:start + size]


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------
_provider_slot: AdapterSlot[MessageProvider] = AdapterSlot(lambda: _build_provider())


def get_message_provider() -> MessageProvider:
    """The adapter chosen by settings.MESSAGING_PROVIDER, built once per process."""
    return _provider_slot.get()


def _build_provider() -> MessageProvider:
    name = settings.MESSAGING_PROVIDER
    if name == "outbox":
        from apps.integrations.messaging.outbox import OutboxProvider

        return OutboxProvider()
    if name == "solapi":
        from apps.integrations.messaging.solapi import SolapiProvider

        return SolapiProvider()
    raise ImproperlyConfigured(f"MESSAGING_PROVIDER must be 'outbox' or 'solapi', not {name!r}")


def reset_message_provider_for_tests() -> None:
    _provider_slot.reset()
