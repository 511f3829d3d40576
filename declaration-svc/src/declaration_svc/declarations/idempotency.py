"""``Idempotency-Key`` (the IETF draft of the header) for every request that makes
something: a submission, an amendment, a document upload. A key is the tenant's, bound to
the request it first came with: the same request again is answered as the first time, another
request with it is a 422, and while its first request is still in flight, a 409. Keys are kept
at least 24 h, then purged."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import try_advisory_xact_lock, utcnow
from declaration_svc.declarations.errors import IdempotencyKeyReused, IdempotentRequestInFlight
from declaration_svc.declarations.models import IdempotencyKey
from declaration_svc.declarations.repository import IdempotencyKeyRepository


def request_hash(operation: str, *parts: str | bytes) -> str:
    """What a key is bound to: the operation, what it acts on and what it sends. A key
    used for one operation and then another is a key used with another request."""
    digest = hashlib.sha256(operation.encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


async def claim(
    session: AsyncSession,
    principal: Principal,
    key: str,
    bound_to: str,
    *,
    declaration_id: uuid.UUID,
    version: int | None = None,
    document_id: uuid.UUID | None = None,
) -> IdempotencyKey | None:
    """Takes ``key`` for this request, to remember what it makes (None); or the record of
    the finished request that holds it with the same ``bound_to`` (``request_hash``), which
    the caller answers again. In the caller's transaction: a request that fails frees the
    key with everything else it did."""
    if not await try_advisory_xact_lock(session, f"idempotency|{principal.tenant}|{key}"):
        raise IdempotentRequestInFlight(
            "A request with this Idempotency-Key is still in flight; retry when it has ended."
        )
    keys = IdempotencyKeyRepository(session)
    if await keys.claim(
        principal.tenant, key, bound_to, declaration_id, version=version, document_id=document_id
    ):
        return None
    existing = await keys.find(principal.tenant, key)
    if existing is None:  # purged between the claim and the read; the client may retry
        raise IdempotencyKeyReused("This Idempotency-Key has just expired; retry.")
    if existing.request_hash != bound_to:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    return existing


async def purge(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forgets keys older than ``older_than``: a retry after that is a new request."""
    return await IdempotencyKeyRepository(session).purge(utcnow() - older_than)
