"""ARCHITECTURE §2, status: the poll's Redis cache, so that a second-by-second poll never reaches Postgres.

A poll reads two entries in one round trip:
- `job-status:<job id>`: the rendered body with its tenant and ETag (no ETag: the job is still moving, no-store).
  A DONE job whose kind presents its result afresh on every read (a short-lived download URL) is never cached.
- `job-staff:<user id>`: the tenant the user is active staff of (both user and tenant active) and the user's token
  version ("<tenant id>:<version>"); a token of another version is not answered from it. It is only ever filled by
  a poll whose query proved it, so a cached entry never grants what the database would refuse.

Both are dropped on every change: each Job write in apps/jobs/services.py calls `job_changed`, and saving or
deleting a User, Tenant or Job row (the Django admin, fixtures) does it through the receivers connected in
apps.py. That is cache invalidation only; no business logic hangs off those signals. Writes that bypass both
(a raw `QuerySet.update()` of a user's role) are seen within JOB_STATUS_CACHE_SECONDS, every entry's TTL.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings

from apps.core import versioned_cache
from apps.core.models import STAFF_ROLES, User
from apps.core.versioned_cache import Snapshot, VersionedCache

JOB_STATUS = VersionedCache("job-status")
STAFF_ACCESS = VersionedCache("job-staff")
_SEPARATOR = b"\x1f"  # JSON escapes every control character, so it never occurs inside a body


@dataclass(frozen=True)
class CachedStatus:
    tenant_id: int
    etag: str | None
    body: bytes


@dataclass(frozen=True)
class Lookup:
    job_id: UUID
    user_id: int
    job: Snapshot
    staff: Snapshot
    token_version: int = 0

    def status(self) -> CachedStatus | None:
        """The cached body, when both entries are cached, the user is staff of the job's tenant and the token's
        version is the one cached for the user."""
        if self.job.value is None or self.staff.value is None:
            return None
        tenant, etag, body = self.job.value.split(_SEPARATOR, 2)
        if _staff_value(tenant, self.token_version) != self.staff.value:
            return None  # another academy's job (the database path answers 404), or a token of another version
        return CachedStatus(int(tenant), etag.decode() or None, body)


def _staff_value(tenant: bytes | str, token_version: int) -> bytes:
    return b"%s:%d" % (tenant if isinstance(tenant, bytes) else tenant.encode(), token_version)


def lookup(*, job_id: UUID, user_id: int, token_version: int = 0) -> Lookup:
    job, staff = versioned_cache.read([(JOB_STATUS, job_id), (STAFF_ACCESS, user_id)])
    return Lookup(job_id, user_id, job, staff, token_version)


def remember(found: Lookup, *, tenant_id: int, etag: str | None, body: bytes | None) -> None:
    """After the database showed `user_id` may read the job with a token of `found.token_version`: caches both
    entries (a body of None: not the job's)."""
    ttl = settings.JOB_STATUS_CACHE_SECONDS
    job_value = _SEPARATOR.join([str(tenant_id).encode(), (etag or "").encode(), body]) if body is not None else None
    versioned_cache.fill([
        (JOB_STATUS, found.job_id, found.job, job_value if found.job.value is None else None, ttl),
        (STAFF_ACCESS, found.user_id, found.staff,
         _staff_value(str(tenant_id), found.token_version) if found.staff.value is None else None, ttl),
    ])


def job_changed(job_id: UUID | str) -> None:
    JOB_STATUS.invalidate([job_id if isinstance(job_id, UUID) else UUID(str(job_id))])


def staff_changed(user_ids: Iterable[int]) -> None:
    STAFF_ACCESS.invalidate(user_ids)


def tenant_changed(tenant_id: int) -> None:
    staff_changed(User.objects.filter(tenant_id=tenant_id, role__in=STAFF_ROLES).values_list("id", flat=True))
