"""ARCHITECTURE §3 embedded queue: the table behind TableQueue (the SQS stand-in for dev and `make run`)."""

from django.db import models


class QueueMessageRow(models.Model):
    queue = models.CharField(max_length=120)
    body = models.JSONField()
    visible_at = models.DateTimeField()
    receive_count = models.PositiveIntegerField(default=0)
    # Replaced on every receive, so a consumer whose visibility lapsed holds a receipt that no longer matches.
    receipt = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["queue", "visible_at", "id"], name="queue_msg_visible_idx")]
        verbose_name = "큐 메시지"
        verbose_name_plural = "큐 메시지"

    def __str__(self) -> str:
        return f"{self.queue}#{self.pk} (수신 {self.receive_count}회)"


class OutboxMessage(models.Model):
    """ARCHITECTURE §3 embedded messaging provider: what Solapi would have been asked to send (MESSAGING_PROVIDER=
    outbox). One row per recipient id, so a second send of the same recipient is answered from the first."""

    recipient_id = models.CharField(max_length=64, unique=True)
    to = models.CharField(max_length=20)
    sender = models.CharField(max_length=20)
    type = models.CharField(max_length=3)
    text = models.TextField()
    subject = models.CharField(max_length=120, blank=True)
    kakao = models.JSONField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=40, unique=True)
    # The provider's answer to the send: "2000" accepted, anything else the reason it was refused.
    status_code = models.CharField(max_length=8)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "발송함 메시지"
        verbose_name_plural = "발송함 메시지"

    def __str__(self) -> str:
        return f"{self.type} {self.recipient_id} ({self.status_code})"
