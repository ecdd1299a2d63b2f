"""Fixtures of the /me/ tests: the permission matrix's world (apps/domains/me/tests/matrix.py)."""

from apps.domains.me.tests.matrix import me_world  # noqa: F401
