from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.events import catalog
from customs_shared.events.schemas import (
    DeclarationSubmitted,
    DocumentAttached,
    IprAttachmentAdded,
)
from customs_shared.messaging.consumer import Subscription
from signature_svc.checks import service
from signature_svc.trust_runtime import TrustRuntime


def subscriptions(trust: TrustRuntime) -> tuple[Subscription[Any], ...]:
    """The handlers, bound to the service's verifier (whose trust material may change)."""

    async def check_declaration(session: AsyncSession, submitted: DeclarationSubmitted) -> None:
        await service.check_declaration(session, submitted, verifier=trust.verifier)

    async def recheck_amended(session: AsyncSession, amended: DeclarationSubmitted) -> None:
        await service.recheck_amended(session, amended, verifier=trust.verifier)

    async def check_document(session: AsyncSession, attached: DocumentAttached) -> None:
        await service.check_document(session, attached, verifier=trust.verifier)

    async def check_ipr_attachment(session: AsyncSession, added: IprAttachmentAdded) -> None:
        await service.check_ipr_attachment(session, added, verifier=trust.verifier)

    return (
        Subscription(catalog.DECLARATION_SUBMITTED, check_declaration, service.find_checks),
        Subscription(catalog.DECLARATION_AMENDED, recheck_amended, service.find_checks),
        Subscription(catalog.DOCUMENT_ATTACHED, check_document),
        Subscription(catalog.IPR_ATTACHMENT_ADDED, check_ipr_attachment),
    )
