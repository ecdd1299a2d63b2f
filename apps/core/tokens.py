"""Token versions, the issuing side (issue 14): login and refresh serializers, and ending a user's tokens.

The checking side is apps/core/authentication.py; the decision is docs/decisions/0022 (student accounts).
"""

import logging
from collections.abc import Iterable

from django.db.models import F
from rest_framework import exceptions
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings

from apps.core.authentication import TOKEN_VERSION_CLAIM, SessionEndedError, token_matches_user
from apps.core.exceptions import ForbiddenError
from apps.core.models import Role, User

logger = logging.getLogger(__name__)


class AccountInactiveError(ForbiddenError):
    default_code = "ACCOUNT_INACTIVE"
    default_message = "사용이 중지된 계정입니다. 학원에 문의해 주세요."


class VersionedTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Login: both tokens carry the user's version (the access token copies the refresh token's claims).

    An inactive account with the right password is told why (403 ACCOUNT_INACTIVE, or ACCOUNT_PENDING_CONSENT for a
    child waiting for a guardian's consent) instead of simplejwt's 401: only someone who knows the password learns
    it. A wrong password stays a 401, counted by the login throttle.
    """

    @classmethod
    def get_token(cls, user):
        token = super().get_token(user)
        token[TOKEN_VERSION_CLAIM] = user.token_version
        return token

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except exceptions.AuthenticationFailed:
            user = User.objects.filter(**{self.username_field: attrs[self.username_field]}).first()
            if user is None or user.is_active or not user.check_password(attrs["password"]):
                raise
        if user.role != Role.STUDENT:
            raise AccountInactiveError()
        from apps.domains.students.accounts import student_login_refusal  # the students domain knows why

        refusal = student_login_refusal(user=user)
        if refusal is not None:
            raise refusal
        self.user = user
        refresh = self.get_token(user)
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class VersionedTokenRefreshSerializer(TokenRefreshSerializer):
    """Refresh: a refresh token of an older version, a deleted or an inactive user gets no new access token."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        user = User.objects.filter(**{api_settings.USER_ID_FIELD: refresh.get(api_settings.USER_ID_CLAIM)}).first()
        if user is None or not token_matches_user(refresh, user):
            raise SessionEndedError()
        return super().validate(attrs)


def user_tokens_revoke(*, user_ids: Iterable[int]) -> None:
    """End every access and refresh token of the users: their version goes up by one.

    Also drops the job status poll's cached staff entries (apps/jobs/status_cache.py), now and after commit.
    """
    from apps.jobs.status_cache import staff_changed

    ids = list(user_ids)
    if not ids:
        return
    User.objects.filter(id__in=ids).update(token_version=F("token_version") + 1)
    staff_changed(ids)
    logger.info("user_tokens_revoked", extra={"event": "user_tokens_revoked", "user_ids": ids})
