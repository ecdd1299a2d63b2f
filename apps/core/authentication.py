"""Token versions (issue 14): a password reset or a deactivation ends every token the user holds.

Every access and refresh token carries the user's `token_version` in the `ver` claim, set at login. Authentication
loads the user (one query: UserManager joins tenant, student and parent) and refuses a token whose version is not
the user's, or whose user is inactive; the refresh endpoint refuses the same way. apps/core/tokens.py issues the
claim and `user_tokens_revoke` raises the version; this module imports no view, as DRF loads it with its settings.
A token without the claim (issued before versions existed) counts as version 0, so sessions open at deploy time go
on until the user's first reset (docs/decisions/0022-student-accounts-and-token-versions.md).

The job status poll verifies tokens without loading the user (apps/jobs/apis.py) and compares the same claim with
the version cached next to its staff entry, which `user_tokens_revoke` drops.
"""

from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from apps.core.models import User

TOKEN_VERSION_CLAIM = "ver"  # noqa: S105 (a claim name, not a secret)
SESSION_ENDED_MESSAGE = "로그인이 만료되었습니다. 다시 로그인해 주세요."


class SessionEndedError(exceptions.AuthenticationFailed):
    """401 AUTHENTICATION_FAILED, with a message saying to log in again (apps/core/exceptions.py keeps it)."""

    default_detail = SESSION_ENDED_MESSAGE
    default_code = "session_ended"
    korean_message = SESSION_ENDED_MESSAGE


def token_version_of(token) -> int:
    """The version a validated token was issued under; a token older than versions counts as 0."""
    value = token.get(TOKEN_VERSION_CLAIM, 0)
    return value if type(value) is int else -1  # a claim of another type matches no user


def token_matches_user(token, user) -> bool:
    return user.is_active and token_version_of(token) == user.token_version


class VersionedJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, refusing tokens of an older version or of an inactive user. One query."""

    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken("토큰에 사용자 정보가 없습니다.") from exc
        user = User.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        if user is None or not token_matches_user(validated_token, user):
            raise SessionEndedError()
        return user
