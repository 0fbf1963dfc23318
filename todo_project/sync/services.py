"""Writes of the sync app: claiming and completing idempotency keys."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from todo_project.sync.models import IdempotencyKey

_CLAIM_SQL = """
    INSERT INTO sync_idempotencykey
        (user_id, key, fingerprint, status, response_status, response_body, response_headers, created_at)
    VALUES (%s, %s, %s, 'processing', NULL, '', '{}'::jsonb, %s)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id
"""


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), b"\n", path.encode(), b"\n", body):
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """Outcome of claiming a key: ``claimed`` (run the request) or the existing row."""

    claimed: bool
    existing: IdempotencyKey | None = None


def idempotency_key_claim(*, user_id: int, key: uuid.UUID, fingerprint: str) -> Claim:
    """Claim ``key`` for this request, committed before the view runs.

    The INSERT … ON CONFLICT DO NOTHING is the lock: of two concurrent
    requests with one key exactly one inserts. A row past the TTL, or one
    left ``processing`` by a request that died, is taken over with a
    conditional UPDATE (0 rows = someone else took it first).
    """
    now = timezone.now()
    # No transaction around it: each statement commits on its own, which is
    # all the claim needs (a lone INSERT is atomic, and under READ COMMITTED
    # a transaction would not make the statements after it see one snapshot
    # either). It saves a BEGIN and a COMMIT on every keyed write.
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [user_id, key, fingerprint, now])
        if cursor.fetchone() is not None:
            return Claim(claimed=True)
    expired = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    abandoned = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
    taken_over = (
        IdempotencyKey.objects.filter(user_id=user_id, key=key)
        # A dead request's claim is only taken over by the same request;
        # another request under that key still gets the mismatch error.
        .filter(
            Q(created_at__lt=expired)
            | Q(status=IdempotencyKey.Status.PROCESSING, created_at__lt=abandoned, fingerprint=fingerprint)
        )
        .update(
            fingerprint=fingerprint,
            status=IdempotencyKey.Status.PROCESSING,
            response_status=None,
            response_body="",
            response_headers={},
            created_at=now,
            completed_at=None,
        )
    )
    if taken_over:
        return Claim(claimed=True)
    return Claim(claimed=False, existing=IdempotencyKey.objects.filter(user_id=user_id, key=key).first())


def idempotency_key_complete(
    *, user_id: int, key: uuid.UUID, status: int, body: str, headers: dict[str, str]
) -> None:
    """Store the first response; only the claim that is still processing is completed."""
    IdempotencyKey.objects.filter(user_id=user_id, key=key, status=IdempotencyKey.Status.PROCESSING).update(
        status=IdempotencyKey.Status.COMPLETED,
        response_status=status,
        response_body=body,
        response_headers=headers,
        completed_at=timezone.now(),
    )


def idempotency_key_release(*, user_id: int, key: uuid.UUID) -> None:
    """Drop a claim whose request failed server-side, so a retry can apply it."""
    IdempotencyKey.objects.filter(user_id=user_id, key=key, status=IdempotencyKey.Status.PROCESSING).delete()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_HOURS. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
