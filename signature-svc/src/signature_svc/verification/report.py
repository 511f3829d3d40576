"""Validation reports modelled on the simple reports of ETSI EN 319 102-1 (EU DSS)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson


class Indication(StrEnum):
    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(StrEnum):
    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NOT_REGISTERED = "NOT_REGISTERED"
    # INDETERMINATE
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    TRY_LATER = "TRY_LATER"


_TOTAL_FAILED = (
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.EXPIRED,
    SubIndication.NOT_YET_VALID,
    SubIndication.NOT_REGISTERED,
)
INDICATION_OF: dict[SubIndication, Indication] = {
    s: Indication.TOTAL_FAILED if s in _TOTAL_FAILED else Indication.INDETERMINATE
    for s in SubIndication
}


class CheckName(StrEnum):
    FORMAT = "format"
    SIGNER_CERTIFICATE = "signer_certificate"
    MESSAGE_DIGEST = "message_digest"
    SIGNATURE_VALUE = "signature_value"
    ALGORITHM_POLICY = "algorithm_policy"
    CHAIN = "chain"
    VALIDITY = "validity"
    REVOCATION = "revocation"
    KEY_USAGE = "key_usage"
    ENTERPRISE_BINDING = "enterprise_binding"


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    INDETERMINATE = "indeterminate"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    name: CheckName
    status: CheckStatus
    message: str


@dataclass(frozen=True)
class Signer:
    subject: str
    tax_codes: list[str]
    serial: str
    sha256_fingerprint: str
    issuer: str
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class RevocationEvidence:
    certificate_subject: str
    crl_issuer: str
    this_update: datetime
    next_update: datetime | None
    crl_sha256: str


@dataclass(frozen=True)
class EnterpriseBinding:
    tax_code: str
    subject_matches: bool
    registered: bool


@dataclass(frozen=True)
class Report:
    indication: Indication
    sub_indication: SubIndication | None
    validation_time: datetime
    checks: list[Check]
    signer: Signer | None = None
    enterprise_binding: EnterpriseBinding | None = None
    revocation_evidence: list[RevocationEvidence] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values (times in ISO 8601, names as their values), for its
        JSON column. Through orjson, which writes dataclasses, enums and times natively: a
        walk of the fields in Python took five times as long (``dataclasses.asdict``, which
        deep-copies every leaf first, longer still), once for every declaration checked."""
        value: dict[str, Any] = orjson.loads(orjson.dumps(self))
        return value

    @property
    def message(self) -> str:
        """The first failing check's message, or the verdict."""
        for check in self.checks:
            if check.status in (CheckStatus.FAILED, CheckStatus.INDETERMINATE):
                return check.message
        return "The signature is valid."
