"""Messaging in the admin: shown, never edited here (a sender number changed past the service would keep its
verification; the ledger is append-only, top-ups go through `manage.py grant_message_credit`)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyModelAdmin
from apps.domains.messaging.catalog import masked_phone
from apps.domains.messaging.models import (
    AutoNoticeSetting,
    CreditEntry,
    MessageConsent,
    MessageOptOut,
    MessageRecipient,
    MessageSend,
    MessageTemplate,
    MessagingProfile,
    PendingNotice,
)


@admin.register(MessagingProfile)
class MessagingProfileAdmin(ReadOnlyModelAdmin):
    list_display = ["tenant", "sender_number", "sender_verified_at", "opt_out_number", "updated_at"]
    list_filter = ["tenant"]
    search_fields = ["tenant__code", "tenant__name", "sender_number"]
    list_select_related = ["tenant"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "tenant", "kind", "amount", "reference", "memo"]
    list_filter = ["tenant", "kind"]
    search_fields = ["reference", "memo", "tenant__code"]
    list_select_related = ["tenant"]


# ---------------------------------------------------------------------------------------------------- catalog

@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyModelAdmin):
    """Changed through the API only: it checks the text for the carriers and puts an edited AlimTalk template back
    into review, which an edit here would skip."""

    list_display = ["name", "tenant", "channel", "category", "review_status", "review_checked_at", "deleted_at"]
    list_filter = ["tenant", "channel", "category", "review_status"]
    search_fields = ["name", "provider_template_id", "tenant__code"]
    list_select_related = ["tenant"]


@admin.register(MessageConsent)
class MessageConsentAdmin(ReadOnlyModelAdmin):
    """A consent is evidence (§50): recorded and withdrawn through the API, never edited."""

    list_display = ["student", "tenant", "holder", "kind", "method", "granted_at", "reconfirmed_at", "withdrawn_at"]
    list_filter = ["tenant", "holder", "kind"]
    search_fields = ["student__name", "method", "tenant__code"]
    list_select_related = ["tenant", "student"]


@admin.register(MessageOptOut)
class MessageOptOutAdmin(ReadOnlyModelAdmin):
    # The full number stays on the change page; lists show it masked.
    list_display = ["masked_phone", "tenant", "source", "memo", "created_at"]
    list_filter = ["tenant", "source"]
    search_fields = ["=phone", "memo", "tenant__code"]
    list_select_related = ["tenant"]

    @admin.display(description="번호")
    def masked_phone(self, opt_out):
        return masked_phone(opt_out.phone)


@admin.register(AutoNoticeSetting)
class AutoNoticeSettingAdmin(ReadOnlyModelAdmin):
    """Changed through the API, which checks the template's channel and review."""

    list_display = ["kind", "tenant", "enabled", "template", "mode", "audience", "updated_at"]
    list_filter = ["tenant", "kind", "enabled"]
    search_fields = ["kind", "tenant__code", "template__name"]
    list_select_related = ["tenant", "template"]


# ---------------------------------------------------------------------------------------------------- sends

@admin.register(MessageSend)
class MessageSendAdmin(ReadOnlyModelAdmin):
    """A send's record; cancelling and sending go through the API, which holds the guarded transitions."""

    list_display = ["id", "tenant", "status", "trigger", "mode", "purpose", "recipient_count", "estimated_cost",
                    "created_at", "finished_at"]
    list_filter = ["status", "trigger", "mode", "purpose", "tenant"]
    search_fields = ["=id", "trigger_key", "tenant__code"]
    list_select_related = ["tenant"]
    raw_id_fields = ["job", "template", "created_by"]


@admin.register(MessageRecipient)
class MessageRecipientAdmin(ReadOnlyModelAdmin):
    """"A parent says nothing arrived": search by uid (the provider's recipient id) or the provider's message id;
    lists show the phone masked."""

    list_display = ["uid", "send_id", "tenant", "role", "masked_phone", "type", "sent_type", "status",
                    "provider_code", "updated_at"]
    list_filter = ["status", "type", "tenant"]
    search_fields = ["=uid", "=provider_message_id", "=send__id"]
    list_select_related = ["tenant"]
    raw_id_fields = ["send", "student"]

    @admin.display(description="수신번호")
    def masked_phone(self, recipient):
        return recipient.masked_phone


@admin.register(PendingNotice)
class PendingNoticeAdmin(ReadOnlyModelAdmin):
    """"The absence notice did not go": fired_at and its send when it went, failure_code when it could not."""

    list_display = ["id", "tenant", "kind", "session_id", "student_id", "due_at", "fired_at", "failure_code", "send_id"]
    list_filter = ["kind", "failure_code", "tenant"]
    search_fields = ["=session__id", "=student__id"]
    list_select_related = ["tenant"]
    raw_id_fields = ["session", "student", "send"]
