"""The event flow on a real PostgreSQL built by the migrations: a submitted declaration
carries only the CMS bytes and the SHA-256 of the signed bytes, and each scenario of the
test PKI gets its indication, a stored report and a published result; plus the registry
and CRL uploads that feed it."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from customs_shared.auth import Principal, Role
from customs_shared.canonical import signed_digest
from customs_shared.events.schemas import DeclarantKind, SignatureChecked
from customs_shared.messaging.models import OutboxEvent
from signature_svc.certificates import service as certificates
from signature_svc.certificates.errors import (
    CertificateAlreadyRegistered,
    CertificateRefused,
    NotYourTaxCode,
)
from signature_svc.checks import service
from signature_svc.checks.models import SignatureCheck
from signature_svc.crls import service as crls
from signature_svc.crls.errors import CrlRefused
from signature_svc.reports.models import VerificationReport
from signature_svc.settings import SignatureSettings
from signature_svc.trust_runtime import TrustRuntime
from tests.support.factories import declaration_submitted
from tests.support.pki import SCENARIOS, TAX_CODE_A, TAX_CODE_B, Pki, Signer
from tests.support.samples import sample, signed

pytestmark = pytest.mark.integration

OFFICER = Principal("officer", "customs-hq", frozenset({Role.OFFICER}), frozenset(), "t1")


def declarant(tenant: str) -> Principal:
    return Principal(f"declarant-{tenant}", tenant, frozenset({Role.DECLARANT}), frozenset(), "t2")


def runtime(pki: Pki, *, without_ca_crl: bool = False) -> TrustRuntime:
    env = pki.signature_env(without_ca_crl=without_ca_crl)
    return TrustRuntime(
        SignatureSettings(
            trust_anchors=env["SIGNATURE_TRUST_ANCHORS"],
            intermediates=env["SIGNATURE_INTERMEDIATES"],
            crl_dir=env["SIGNATURE_CRL_DIR"],
        )
    )


async def register(
    sessions: async_sessionmaker[AsyncSession],
    trust: TrustRuntime,
    signer: Signer,
    *,
    tax_code: str = TAX_CODE_A,
    principal: Principal = OFFICER,
) -> uuid.UUID:
    async with sessions() as session, session.begin():
        row = await certificates.register(
            session=session,
            verifier=trust.verifier,
            principal=principal,
            tax_code=tax_code,
            certificate_pem=signer.cert.read_text(),
        )
        return row.id


async def check(
    sessions: async_sessionmaker[AsyncSession], trust: TrustRuntime, cms: bytes, digest: bytes
) -> tuple[SignatureCheck, SignatureChecked, VerificationReport]:
    submitted = declaration_submitted(
        signature_cms=base64.b64encode(cms).decode(), signed_sha256=digest.hex()
    )
    async with sessions() as session, session.begin():
        await service.check_declaration(session, submitted, verifier=trust.verifier)
    async with sessions() as session:
        row = await session.get_one(SignatureCheck, submitted.declaration_id)
        event = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.key == str(submitted.declaration_id))
            )
        ).one()
        report = await session.get_one(VerificationReport, row.report_id)
    data = json.loads(event.payload)["data"]
    return row, SignatureChecked.model_validate(data), report


async def test_each_scenario_from_the_digest_alone(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    trust, without_crl = runtime(test_pki), runtime(test_pki, without_ca_crl=True)
    for signer in (test_pki.enterprise_a, test_pki.enterprise_a_ec):
        await register(sessions, trust, signer)
    seen = {}
    for scenario in SCENARIOS:
        document, cms = scenario.files(test_pki)
        verifier = without_crl if scenario.without_ca_crl else trust
        row, event, report = await check(sessions, verifier, cms, hashlib.sha256(document).digest())
        seen[scenario.name] = (row.indication, row.sub_indication)
        assert (event.indication, event.sub_indication, event.report_id) == (
            row.indication,
            row.sub_indication,
            report.id,
        )
        assert report.declaration_id == row.declaration_id
        assert event.status == {"TOTAL_PASSED": "valid", "TOTAL_FAILED": "invalid"}.get(
            scenario.indication, "indeterminate"
        )
    assert seen == {s.name: (s.indication, s.sub_indication) for s in SCENARIOS}


async def test_a_declaration_signed_over_its_canonical_json(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    trust = runtime(test_pki)
    await register(sessions, trust, test_pki.enterprise_a)
    body = signed(sample("declaration-enterprise"), test_pki)
    cms = base64.b64decode(body["signature"])
    row, event, _ = await check(sessions, trust, cms, signed_digest(body))
    assert (row.status, row.indication) == ("valid", "TOTAL_PASSED")
    body["items"][0]["quantity"] = 1  # changed after signing
    row, event, _ = await check(sessions, trust, cms, signed_digest(body))
    assert (event.status, event.sub_indication) == ("invalid", "HASH_FAILURE")


async def test_individuals_and_unsigned_enterprises_need_no_verification(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    trust = runtime(test_pki)
    individual = declaration_submitted(declarant_kind=DeclarantKind.INDIVIDUAL)
    unsigned = declaration_submitted(signature_present=False)
    async with sessions() as session, session.begin():
        for data in (individual, unsigned, unsigned):  # the last is a re-send
            await service.check_declaration(session, data, verifier=trust.verifier)
    async with sessions() as session:
        rows = {c.declaration_id: c for c in await session.scalars(select(SignatureCheck))}
        reports = (await session.scalars(select(VerificationReport))).all()
    assert rows[individual.declaration_id].status == "not_required"
    assert rows[unsigned.declaration_id].status == "missing"
    assert rows[unsigned.declaration_id].report_id is None
    assert reports == []


@pytest.mark.parametrize(
    ("signer", "tax_code", "reason"),
    [
        ("revoked", TAX_CODE_A, "REVOKED"),
        ("expired", TAX_CODE_A, "EXPIRED"),
        ("no_signing_usage", TAX_CODE_A, "CHAIN_CONSTRAINTS_FAILURE"),
        ("look_alike", TAX_CODE_A, "NO_CERTIFICATE_CHAIN_FOUND"),
        ("weak_rsa", TAX_CODE_A, "CRYPTO_CONSTRAINTS_FAILURE"),
        ("enterprise_b", TAX_CODE_A, "NOT_REGISTERED"),
        ("enterprise_a", TAX_CODE_B, "NOT_REGISTERED"),
    ],
)
async def test_the_registry_refuses_what_could_not_sign(
    sessions: async_sessionmaker[AsyncSession],
    test_pki: Pki,
    signer: str,
    tax_code: str,
    reason: str,
) -> None:
    trust = runtime(test_pki)
    with pytest.raises(CertificateRefused) as refused:
        await register(sessions, trust, getattr(test_pki, signer), tax_code=tax_code)
    assert refused.value.extensions["sub_indication"] == reason


async def test_registry_binds_by_fingerprint_per_tenant_and_deactivates(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    trust = runtime(test_pki)
    with pytest.raises(NotYourTaxCode):
        await register(sessions, trust, test_pki.enterprise_a, principal=declarant(TAX_CODE_B))
    first = await register(sessions, trust, test_pki.enterprise_a, principal=declarant(TAX_CODE_A))
    await register(sessions, trust, test_pki.enterprise_a_ec)  # a renewal beside it
    with pytest.raises(CertificateAlreadyRegistered):
        await register(sessions, trust, test_pki.enterprise_a)
    document, cms = SCENARIOS[0].files(test_pki)
    _, before, _ = await check(sessions, trust, cms, hashlib.sha256(document).digest())
    async with sessions() as session, session.begin():
        listed = await certificates.list_(
            session=session, principal=declarant(TAX_CODE_A), tax_code=None, limit=10
        )
        hidden = await certificates.list_(
            session=session, principal=declarant(TAX_CODE_B), tax_code=None, limit=10
        )
        await certificates.deactivate(
            session=session, principal=declarant(TAX_CODE_A), certificate_id=first
        )
    _, after, _ = await check(sessions, trust, cms, hashlib.sha256(document).digest())
    assert (len(listed.items), listed.next_after) == (2, None)
    assert not hidden.items
    assert (before.indication, after.sub_indication) == ("TOTAL_PASSED", "NOT_REGISTERED")


async def test_an_uploaded_crl_is_checked_then_used_at_once(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    trust = runtime(test_pki, without_ca_crl=True)
    await register_without_revocation(sessions, test_pki)
    document, cms = SCENARIOS[0].files(test_pki)
    digest = hashlib.sha256(document).digest()
    _, before, _ = await check(sessions, trust, cms, digest)
    async with sessions() as session, session.begin():
        with pytest.raises(CrlRefused):
            await crls.upload(session=session, trust=trust, principal=OFFICER, data=b"not a CRL")
        await crls.upload(
            session=session, trust=trust, principal=OFFICER, data=test_pki.ca_crl.read_bytes()
        )
    _, after, _ = await check(sessions, trust, cms, digest)
    fresh = runtime(test_pki, without_ca_crl=True)  # another replica loads it from the table
    async with sessions() as session:
        from signature_svc.trust_runtime import load_uploaded

        fresh.set_uploaded(await load_uploaded(session))
    _, elsewhere, _ = await check(sessions, fresh, cms, digest)
    assert (before.sub_indication, after.indication) == ("TRY_LATER", "TOTAL_PASSED")
    assert elsewhere.indication == "TOTAL_PASSED"


async def register_without_revocation(
    sessions: async_sessionmaker[AsyncSession], test_pki: Pki
) -> None:
    await register(sessions, runtime(test_pki), test_pki.enterprise_a)
