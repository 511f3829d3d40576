"""Amendments and cancellation: a trader changes or withdraws a declaration before
release. An amendment is a new version, screened and routed again from scratch; the
version it replaced stays readable. Both name the version they act on (If-Match)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from customs_shared.auth import Principal
from customs_shared.canonical import SentDigests
from customs_shared.db import utcnow
from customs_shared.events import catalog
from customs_shared.events.schemas import DeclarationCancelled
from customs_shared.keys import KeyRing
from customs_shared.messaging.outbox import add_event
from declaration_svc.declarations import idempotency, lifecycle
from declaration_svc.declarations.errors import (
    DeclarationNotFound,
    IfMatchRequired,
    StaleVersion,
    VersionNotFound,
)
from declaration_svc.declarations.models import (
    Declaration,
    DeclarationItem,
    DeclarationStatus,
    DeclarationVersion,
)
from declaration_svc.declarations.repository import (
    WITH_ITEMS_AND_TIMELINE,
    DeclarationRepository,
)
from declaration_svc.declarations.schemas import DeclarationIn, DeclarationOut
from declaration_svc.declarations.service import (
    SOURCE,
    check_declarant,
    content_columns,
    items_values,
    submitted_facts,
)
from declaration_svc.rates import service as rates
from declaration_svc.receipts import service as receipts


def etag(declaration: Declaration) -> str:
    return version_etag(declaration.version)


def version_etag(version: int) -> str:
    return f'"v{version}"'


@dataclass(frozen=True, slots=True)
class Amended:
    """What an amendment answers: the version it made and that version's receipt;
    ``replayed`` when it is the answer, again, of an earlier request with the same key."""

    declaration_id: uuid.UUID
    version: int
    status: str
    receipt: str | None
    replayed: bool = False


def _check_version(declaration: Declaration, if_match: str | None, *, required: bool) -> None:
    """RFC 9110 §13.1.1: ``*`` or a list of ETags, one of which must be the current by the
    strong comparison: a weak tag (``W/"v1"``) never matches."""
    if if_match is None:
        if required:
            raise IfMatchRequired(
                f"Send If-Match: {etag(declaration)} (the ETag of the version you amend)."
            )
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" not in tags and etag(declaration) not in tags:
        raise StaleVersion(
            f"The declaration is at version {declaration.version} (ETag {etag(declaration)}); "
            "read it again and amend that version.",
            current_etag=etag(declaration),
        )


async def _locked(
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    *,
    options: tuple[ORMOption, ...] = (),
) -> Declaration:
    return await DeclarationRepository(session).get_visible_for_update_or_404(
        declaration_id,
        principal,
        DeclarationNotFound(f"No declaration {declaration_id}."),
        options=options,
    )


async def amend(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    body: DeclarationIn,
    if_match: str | None,
    receipt_keys: KeyRing | None = None,
    sent: SentDigests | None = None,
    idempotency_key: str | None = None,
) -> Amended:
    """The version made and, with ``receipt_keys``, its receipt. ``sent`` as for a
    submission: the digests of the new version's body as sent. With ``idempotency_key``,
    a retry of an amendment that was made (its If-Match now stale) gets its answer again."""
    check_declarant(principal, body)
    # Items and timeline too: the replaced version is kept as the API showed it.
    declaration = await _locked(session, principal, declaration_id, options=WITH_ITEMS_AND_TIMELINE)
    if idempotency_key is not None:
        made = await idempotency.claim(
            session,
            principal,
            idempotency_key,
            idempotency.request_hash("amend", str(declaration.id), body.model_dump_json()),
            declaration_id=declaration.id,
            version=declaration.version + 1,
        )
        if made is not None and made.version is not None:
            original = await receipts.of_version(session, declaration.id, made.version)
            return Amended(
                declaration.id,
                made.version,
                DeclarationStatus.RECEIVED,
                original.jws if original is not None else None,
                replayed=True,
            )
    _check_version(declaration, if_match, required=True)
    if not lifecycle.allowed(declaration.status, DeclarationStatus.RECEIVED):
        lifecycle.refuse(declaration, DeclarationStatus.RECEIVED, action="amended")
    repository = DeclarationRepository(session)
    now = utcnow()
    repository.add_version(
        DeclarationVersion(
            declaration_id=declaration.id,
            version=declaration.version,
            snapshot=DeclarationOut.model_validate(declaration).model_dump(mode="json"),
            replaced_at=now,
            replaced_by=principal.subject,
        )
    )
    # The declaration's date, not the amendment's: a version converts at the rate of the
    # day the declaration was registered (the currency may change, the date does not).
    conversion = await rates.conversion(session, body.currency, declaration.created_at)
    for column, value in content_columns(body, conversion).items():
        setattr(declaration, column, value)
    item_values = items_values(body, conversion)
    await repository.replace_items(
        declaration,
        [DeclarationItem(declaration_id=declaration.id, **values) for values in item_values],
    )
    # The new version is screened and routed afresh: nothing of the old verdict holds.
    declaration.version += 1
    declaration.lane = None
    declaration.lane_reasons = []
    declaration.rule_set_version = None
    declaration.signature_status = None
    declaration.ipr_outcome = None
    lifecycle.move(
        session,
        declaration,
        DeclarationStatus.RECEIVED,
        actor=principal.subject,
        event="amended",
        why=f"Version {declaration.version} replaces version {declaration.version - 1}.",
    )
    add_event(
        session,
        catalog.DECLARATION_AMENDED,
        source=SOURCE,
        key=str(declaration.id),
        data=submitted_facts(declaration, body, item_values, at=now, sent=sent),
    )
    receipt = (
        None
        if receipt_keys is None
        else receipts.issue(
            session,
            receipt_keys,
            declaration_id=declaration.id,
            version=declaration.version,
            tenant=declaration.tenant,
            body_sha256=receipts.body_digest(sent),
            received_at=now,
        )
    )
    await session.flush()  # sessions do not autoflush: a re-read must see the change
    return Amended(declaration.id, declaration.version, declaration.status, receipt)


async def cancel(
    *,
    session: AsyncSession,
    principal: Principal,
    declaration_id: uuid.UUID,
    reason: str,
    if_match: str | None,
) -> Declaration:
    declaration = await _locked(session, principal, declaration_id)
    _check_version(declaration, if_match, required=False)
    now = utcnow()
    lifecycle.move(
        session,
        declaration,
        DeclarationStatus.CANCELLED,
        actor=principal.subject,
        event="cancelled",
        why=reason,
    )
    add_event(
        session,
        catalog.DECLARATION_CANCELLED,
        source=SOURCE,
        key=str(declaration.id),
        data=DeclarationCancelled(
            declaration_id=declaration.id,
            version=declaration.version,
            tenant=declaration.tenant,
            reason=reason,
            cancelled_at=now,
        ),
    )
    await session.flush()  # sessions do not autoflush: a re-read must see the change
    return declaration


async def version(
    *, session: AsyncSession, principal: Principal, declaration_id: uuid.UUID, number: int
) -> DeclarationOut:
    """Any version of a declaration: the current one, or one an amendment replaced."""
    repository = DeclarationRepository(session)
    current = await repository.get_visible_or_404(
        declaration_id,
        principal,
        DeclarationNotFound(f"No declaration {declaration_id}."),
        options=WITH_ITEMS_AND_TIMELINE,
    )
    if number == current.version:
        return DeclarationOut.model_validate(current)
    replaced = await repository.version(declaration_id, number)
    if replaced is None:
        raise VersionNotFound(
            f"Declaration {declaration_id} has versions 1 to {current.version}, not {number}."
        )
    return DeclarationOut.model_validate(replaced.snapshot)
