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
