"""All SQL of application attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from customs_shared.repository import RepositoryBase
from ipr_svc.attachments.models import IprAttachment


class AttachmentRepository(RepositoryBase[IprAttachment]):
    model = IprAttachment

    async def of_application(self, application_id: uuid.UUID) -> Sequence[IprAttachment]:
        statement = (
            select(IprAttachment)
            .where(IprAttachment.application_id == application_id)
            .order_by(IprAttachment.uploaded_at, IprAttachment.id)
        )
        return (await self.session.scalars(statement)).all()

    async def one(
        self, application_id: uuid.UUID, attachment_id: uuid.UUID, *, for_update: bool = False
    ) -> IprAttachment | None:
        statement = select(IprAttachment).where(
            IprAttachment.id == attachment_id, IprAttachment.application_id == application_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()
