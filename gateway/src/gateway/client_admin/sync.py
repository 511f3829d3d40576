"""Keeps a replica's client registry equal to the table: a cheap fingerprint query every
few seconds, and a reload when it changed (a client registered, changed, rotated,
disabled) — so every replica follows an admin's change within that interval."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.background import Repeating
from customs_shared.db import utcnow
from gateway.client_admin import repository, service
from gateway.clients import ClientRegistry

log = logging.getLogger(__name__)


class ClientSync:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        registry: ClientRegistry,
        *,
        interval_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._seen: tuple[int, datetime | None, int] | None = None
        self._repeating = Repeating(
            "client-sync", self._one_pass, interval_seconds=interval_seconds, wait_first=True
        )

    async def refresh(self) -> bool:
        """Reloads the registry if the table changed; True when it did. Also forgets the
        private_key_jwt assertion ids that have expired."""
        async with self._sessions() as session, session.begin():
            await repository.prune_used_assertions(session, utcnow())
        async with self._sessions() as session:
            seen = await repository.fingerprint(session)
            if seen == self._seen:
                return False
            clients = await service.enabled_clients(session)
        self._registry.replace(clients)
        self._seen = seen
        log.info("oauth clients loaded", extra={"count": len(clients)})
        return True

    async def _one_pass(self) -> bool:
        await self.refresh()
        return False

    def start(self) -> None:
        """Refreshes every interval from now on (the caller refreshed once at start)."""
        self._repeating.start()

    async def stop(self) -> None:
        await self._repeating.stop()
