"""Emergency revocation of access tokens, by token id (``jti``) or by client.

The gateway publishes each revocation on the compacted topic
``customs.token-revocations.v1`` (keyed ``jti:<id>`` or ``client:<id>``). Every process
of every service reads the whole topic without a consumer group into a
:class:`RevocationList` that its :class:`~customs_shared.auth.TokenVerifier` consults,
so a revoked token is refused everywhere as soon as the record arrives (well under a
second on a healthy cluster), not only at the gateway. Revoking a client refuses every
token issued to it up to the revocation; tokens issued later are valid again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiokafka.errors import KafkaError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from customs_shared.events.catalog import TOKEN_REVOCATIONS
from customs_shared.messaging.consumer import STALL_SECONDS
from customs_shared.messaging.follower import FollowerProgress, FollowerStalled
from customs_shared.messaging.kafka import new_follower
from customs_shared.metrics import FOLLOWER_RESTARTS

log = logging.getLogger(__name__)

_RETRY_SECONDS = 2.0
_POLL_MS = 500  # how soon the reader notices it must stop
_STOP_SECONDS = 5.0


class RevocationKind(StrEnum):
    TOKEN = "jti"  # noqa: S105 - the claim name, not a secret
    CLIENT = "client"


class Revocation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: RevocationKind
    value: str = Field(min_length=1, max_length=200)
    revoked_at: AwareDatetime
    reason: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.value}"


class RevocationList:
    """What this process knows to be revoked."""

    def __init__(self) -> None:
        self._tokens: dict[str, datetime] = {}
        self._clients: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._tokens) + len(self._clients)

    def add(self, revocation: Revocation) -> None:
        if revocation.kind is RevocationKind.TOKEN:
            self._tokens[revocation.value] = revocation.revoked_at
        else:
            known = self._clients.get(revocation.value)
            if known is None or revocation.revoked_at > known:
                self._clients[revocation.value] = revocation.revoked_at

    def forget(self, key: str) -> None:
        """Drops a revocation (its tombstone arrived: every token it refused has expired)."""
        kind, _, value = key.partition(":")
        if kind == RevocationKind.TOKEN.value:
            self._tokens.pop(value, None)
        elif kind == RevocationKind.CLIENT.value:
            self._clients.pop(value, None)

    def older_than(self, cutoff: datetime) -> list[str]:
        """Keys of the revocations made before ``cutoff``."""
        tokens = [
            f"{RevocationKind.TOKEN.value}:{v}" for v, at in self._tokens.items() if at < cutoff
        ]
        clients = [
            f"{RevocationKind.CLIENT.value}:{v}" for v, at in self._clients.items() if at < cutoff
        ]
        return tokens + clients

    def is_revoked(self, claims: dict[str, Any]) -> bool:
        if claims.get("jti") in self._tokens:
            return True
        revoked_at = self._clients.get(str(claims.get("sub")))
        issued_at = claims.get("iat")
        if revoked_at is None:
            return False
        # A token issued in the same second as the revocation is refused too.
        return not isinstance(issued_at, int | float) or issued_at <= revoked_at.timestamp()


class RevocationListener:
    """Reads the revocation topic from its beginning, then follows it. A reader that stays
    behind the topic's end without moving for ``stall_seconds`` starts reading again: one
    whose fetches stopped would let revoked tokens pass, and nothing else would notice."""

    def __init__(
        self,
        bootstrap: str,
        revocations: RevocationList,
        *,
        client_id: str,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self._bootstrap = bootstrap
        self._revocations = revocations
        self._client_id = client_id
        self._stall_seconds = stall_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Set once the topic has been read up to where it ended when the reader started:
        # until then a revoked token might still pass, so readiness waits for it.
        self.caught_up = asyncio.Event()

    async def check_caught_up(self) -> None:
        """A readiness check."""
        if not self.caught_up.is_set():
            raise RuntimeError("token revocations not read up to date yet")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="token-revocations")

    async def stop(self) -> None:
        """Lets the reader close its consumer itself: cancelling it in the middle of
        connecting would leave connections open. Cancels only a reader that hangs."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _STOP_SECONDS)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        # Kafka may come later than the service (or leave for a while): keep trying
        # until the service stops.
        while not self._stopping.is_set():
            consumer = new_follower(
                self._bootstrap, TOKEN_REVOCATIONS.name, client_id=self._client_id
            )
            progress = FollowerProgress(consumer, stall_seconds=self._stall_seconds)
            try:
                await consumer.start()
                while not self._stopping.is_set():
                    batches = await consumer.getmany(timeout_ms=_POLL_MS)
                    for records in batches.values():
                        for record in records:
                            self._apply(record.key, record.value)
                    if not self.caught_up.is_set() and await progress.reached_start_ends():
                        self.caught_up.set()
                        log.info(
                            "token revocations read up to date",
                            extra={"count": len(self._revocations)},
                        )
                    await progress.check_moving()
            except FollowerStalled as exc:
                FOLLOWER_RESTARTS.labels("token-revocations").inc()
                log.warning(
                    "token revocations reader stalled; reading again", extra={"error": str(exc)}
                )
            except KafkaError as exc:
                log.warning("token revocations not readable", extra={"error": str(exc)})
            except Exception:
                # Anything else (a client bug, a closed transport's RuntimeError) must not
                # end the reader: revocations would stop arriving while tokens still pass.
                log.exception("token revocations reader failed; reading again")
            finally:
                await consumer.stop()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), _RETRY_SECONDS)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # a tombstone: the revocation has served its time
            if key is not None:
                self._revocations.forget(key.decode(errors="replace"))
            return
        try:
            revocation = Revocation.model_validate_json(value)
        except ValidationError:
            log.warning("malformed token revocation skipped")
            return
        self._revocations.add(revocation)
        log.info("token revocation applied", extra={"revocation": revocation.key})
