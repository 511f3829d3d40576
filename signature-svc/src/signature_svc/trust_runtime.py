"""The service's one verifier and the trust material behind it: loaded from the
configured files at start, refreshed when the CRL folder or the uploaded CRLs change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from asn1crypto import crl as asn1_crl
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.app import Runtime
from signature_svc.crls.repository import CrlRepository
from signature_svc.metrics import record_trust
from signature_svc.settings import SignatureSettings
from signature_svc.verification.trust import (
    TrustMaterial,
    crl_dir_stamp,
    load_certificates,
    load_crl,
    read_crl_dir,
)
from signature_svc.verification.verifier import Policy, Verifier

log = logging.getLogger(__name__)


def policy_of(settings: SignatureSettings) -> Policy:
    return Policy(
        revocation=settings.revocation,
        weak_digests=settings.weak_digests,
        rsa_min_bits=settings.rsa_min_bits,
        strict_path=settings.strict_path,
    )


class TrustRuntime:
    """Holds the verifier; anchors and intermediates are read once, CRLs whenever the
    folder's files or the set of uploaded CRLs change (the verifier's cache goes with
    the old trust version)."""

    def __init__(self, settings: SignatureSettings) -> None:
        self.settings = settings
        self._anchors = (
            load_certificates(settings.trust_anchors.read_bytes()) if settings.trust_anchors else []
        )
        self._intermediates = (
            load_certificates(settings.intermediates.read_bytes()) if settings.intermediates else []
        )
        self._dir_stamp: tuple[tuple[str, int, int], ...] | None = None
        self._dir_crls: list[asn1_crl.CertificateList] = []
        self._uploaded: list[asn1_crl.CertificateList] = []
        configured = TrustMaterial.build(self._anchors, self._intermediates)
        self.verifier = Verifier(configured, policy_of(settings))
        self.refresh_dir()

    @property
    def trust(self) -> TrustMaterial:
        return self.verifier.trust

    def refresh_dir(self) -> bool:
        """Re-reads the CRL folder if a file in it changed; True if it did."""
        stamp = crl_dir_stamp(self.settings.crl_dir)
        if stamp == self._dir_stamp:
            return False
        self._dir_stamp = stamp
        self._dir_crls = read_crl_dir(self.settings.crl_dir) if self.settings.crl_dir else []
        self._rebuild()
        return True

    @property
    def uploaded(self) -> list[asn1_crl.CertificateList]:
        return self._uploaded

    def set_uploaded(self, crls: Iterable[asn1_crl.CertificateList]) -> None:
        self._uploaded = list(crls)
        self._rebuild()

    def _rebuild(self) -> None:
        # Newest CRL per issuer wins, whichever way it came.
        newest: dict[bytes, asn1_crl.CertificateList] = {}
        for crl in (*self._dir_crls, *self._uploaded):
            key = crl.issuer.dump()
            kept = newest.get(key)
            if kept is None or _this_update(crl) >= _this_update(kept):
                newest[key] = crl
        trust = TrustMaterial.build(self._anchors, self._intermediates, newest.values())
        record_trust(trust.anchors, trust.intermediates, trust.crls)
        if trust.version != self.verifier.trust.version:
            log.info("trust material changed", extra={"crls": len(trust.crls)})
            self.verifier.trust = trust


def _this_update(crl: asn1_crl.CertificateList) -> Any:
    return crl["tbs_cert_list"]["this_update"].native


async def load_uploaded(session: AsyncSession) -> list[asn1_crl.CertificateList]:
    """The newest uploaded CRL of each issuer."""
    return [load_crl(der) for der in await CrlRepository(session).newest_per_issuer()]


async def trust_runtime(request: Request) -> TrustRuntime:
    runtime: TrustRuntime = request.app.state.trust
    return runtime


def crl_watcher(trust: TrustRuntime) -> Any:
    """A background task for ``create_service_app``: loads uploaded CRLs, then polls
    the folder and the table for changes until shutdown."""

    @contextlib.asynccontextmanager
    async def watch(runtime: Runtime[Any]) -> AsyncIterator[None]:
        sessions: async_sessionmaker[AsyncSession] = runtime.sessions

        async def refresh() -> None:
            trust.refresh_dir()
            async with sessions() as session:
                uploaded = await load_uploaded(session)
            if [c.dump() for c in uploaded] != [c.dump() for c in trust.uploaded]:
                trust.set_uploaded(uploaded)

        async def loop() -> None:
            while True:
                await asyncio.sleep(trust.settings.crl_dir_poll_seconds)
                try:
                    await refresh()
                except Exception:
                    log.exception("CRL refresh failed; the previous trust material stays")

        await refresh()
        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return watch
