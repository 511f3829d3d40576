"""Verification of detached CMS signatures and of signer certificates.

Cryptography, path building and CRL processing are pyHanko's and
pyhanko-certvalidator's; this module decides which checks run, in what order,
and how their outcomes become a report."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from asn1crypto import algos, cms, core, pem, x509
from cryptography import x509 as cx509
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    VerificationError,
)
from pyhanko.sign.general import extract_certificate_info, extract_signer_info
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as pkix
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy

from signature_svc.verification.report import (
    INDICATION_OF,
    Check,
    CheckName,
    CheckStatus,
    EnterpriseBinding,
    Indication,
    Report,
    RevocationEvidence,
    Signer,
    SubIndication,
)
from signature_svc.verification.subject import tax_codes
from signature_svc.verification.trust import TrustMaterial, fingerprint

logger = logging.getLogger(__name__)


class RevocationMode(StrEnum):
    REQUIRE = "require"  # every certificate below the anchor needs a current CRL
    SOFT_FAIL = "soft-fail"  # CRLs at hand are checked; none is not a failure
    OFF = "off"


MAX_CHAIN_DEPTH = 6
_PKIX_MODE = {RevocationMode.REQUIRE: "require", RevocationMode.SOFT_FAIL: "soft-fail"}

# Which failure a report leads with when several checks fail.
PRECEDENCE: tuple[SubIndication, ...] = (
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.EXPIRED,
    SubIndication.NOT_YET_VALID,
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
    SubIndication.CHAIN_CONSTRAINTS_FAILURE,
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
    SubIndication.TRY_LATER,
    SubIndication.SIGNED_DATA_NOT_FOUND,
    SubIndication.NOT_REGISTERED,
)

SIGNING_USAGE = KeyUsageConstraints(
    key_usage=frozenset({"digital_signature", "non_repudiation"}), match_all_key_usages=False
)


@dataclass(frozen=True)
class Policy:
    revocation: RevocationMode = RevocationMode.REQUIRE
    weak_digests: frozenset[str] = frozenset({"md5", "md2", "sha1"})
    rsa_min_bits: int = 2048
    # Bounds against hostile input: certificates a signature may carry, time for path building.
    max_embedded_certificates: int = 16
    # cryptography's strict RFC 5280 path check after pyhanko-certvalidator's.
    strict_path: bool = True
    path_timeout_seconds: float = 5.0
    cache_size: int = 4096
    cache_seconds: float = 60.0

    def algorithms(self) -> DisallowWeakAlgorithmsPolicy:
        return DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
            weak_hash_algos=self.weak_digests, rsa_key_size_threshold=self.rsa_min_bits
        )


@dataclass(frozen=True)
class _CertOutcome:
    checks: list[Check]
    failures: list[SubIndication]
    chain: list[str] = field(default_factory=list)
    evidence: list[RevocationEvidence] = field(default_factory=list)


def describe(cert: x509.Certificate) -> Signer:
    return Signer(
        subject=cert.subject.human_friendly,
        tax_codes=tax_codes(cert),
        serial=format(cert.serial_number, "x"),
        sha256_fingerprint=fingerprint(cert),
        issuer=cert.issuer.human_friendly,
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
    )


def parse_signature(data: bytes) -> cms.SignedData:
    """A CMS SignedData from DER or PEM bytes. asn1crypto parses lazily, so a malformed
    inner field may still fail later: :meth:`Verifier.verify_signature` reports any such
    failure as a format failure."""
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    info = cms.ContentInfo.load(data, strict=True)
    if info["content_type"].native != "signed_data":
        raise ValueError("not a CMS SignedData")
    signed: cms.SignedData = info["content"]
    _ = signed["signer_infos"], signed["certificates"], signed["encap_content_info"]
    return signed


class Verifier:
    """Verifies signatures against one trust configuration, caching certificate outcomes
    by (certificate fingerprints, trust version); a new trust version drops the cache."""

    def __init__(self, trust: TrustMaterial, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self._trust = trust
        self._algorithms = CMSAlgorithmUsagePolicy.lift_policy(self.policy.algorithms())
        self._cache: OrderedDict[tuple[object, ...], tuple[float, _CertOutcome]] = OrderedDict()
        self._signers: OrderedDict[str, Signer] = OrderedDict()
        self._algorithm_verdicts: dict[tuple[str, bytes, str], str | None] = {}
        self._certificate_sets: dict[bytes, Any] = {}

    @property
    def trust(self) -> TrustMaterial:
        return self._trust

    @trust.setter
    def trust(self, trust: TrustMaterial) -> None:
        if trust.version != self._trust.version:
            self._cache.clear()
        self._trust = trust

    async def verify_signature(
        self,
        signature: bytes,
        *,
        document: bytes | None = None,
        sha256: bytes | None = None,
        at: datetime | None = None,
        tax_code: str | None = None,
        registered: Collection[str] | None = None,
    ) -> Report:
        """Verify a detached signature over ``document``, or over the bytes whose SHA-256
        is ``sha256``. With ``tax_code``, the signer must be a certificate registered for it
        (``registered``: SHA-256 fingerprints). Never raises on hostile bytes."""
        moment = at or datetime.now(UTC)
        try:
            return await self._verify_signature(
                signature, document, sha256, at, moment, tax_code, registered
            )
        except Exception as e:  # a lazily parsed field of hostile bytes failed late
            logger.info("unusable signature", exc_info=True)
            message = f"Not a usable CMS: {type(e).__name__}: {e}"[:500]
            return _report(
                moment,
                [Check(CheckName.FORMAT, CheckStatus.FAILED, message)],
                [SubIndication.FORMAT_FAILURE],
            )

    async def _verify_signature(
        self,
        signature: bytes,
        document: bytes | None,
        sha256: bytes | None,
        at: datetime | None,
        moment: datetime,
        tax_code: str | None,
        registered: Collection[str] | None,
    ) -> Report:
        checks: list[Check] = []
        failures: list[SubIndication] = []

        def outcome(name: CheckName, sub: SubIndication | None, message: str) -> None:
            if sub is None:
                checks.append(Check(name, CheckStatus.PASSED, message))
                return
            failed = INDICATION_OF[sub] is Indication.TOTAL_FAILED
            checks.append(
                Check(name, CheckStatus.FAILED if failed else CheckStatus.INDETERMINATE, message)
            )
            failures.append(sub)

        try:
            signed = parse_signature(signature)
            signer_info = extract_signer_info(signed)
            if not isinstance(signed["encap_content_info"]["content"], core.Void):
                raise ValueError("the signature encapsulates content; a detached one is expected")
            certificates = signed["certificates"]
            count = 0 if isinstance(certificates, core.Void) else len(certificates)
            if count > self.policy.max_embedded_certificates:
                raise ValueError(f"the signature carries {count} certificates, too many")
        except Exception as e:  # any parse error of hostile bytes is a format failure
            outcome(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, f"Not a usable CMS: {e}")
            return _report(moment, checks, failures)
        outcome(CheckName.FORMAT, None, "A detached CMS SignedData with one signer.")

        try:
            cert_info = self._certificates_of(signed, signer_info)
            cert = cert_info.signer_cert
        except Exception as e:
            outcome(
                CheckName.SIGNER_CERTIFICATE,
                SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
                f"The signer's certificate is not in the signature: {e}",
            )
            return _report(moment, checks, failures)
        signer = self._describe(cert)
        outcome(CheckName.SIGNER_CERTIFICATE, None, f"Signed by {signer.subject}.")

        md_algorithm: str = signer_info["digest_algorithm"]["algorithm"].native
        sig_algorithm = signer_info["signature_algorithm"]
        # The policy ignores time; its verdict depends on the algorithms and the key alone.
        algorithms_key = (md_algorithm, sig_algorithm.dump(), signer.sha256_fingerprint)
        if algorithms_key not in self._algorithm_verdicts:
            if len(self._algorithm_verdicts) > self.policy.cache_size:
                self._algorithm_verdicts.clear()
            self._algorithm_verdicts[algorithms_key] = self._algorithm_problem(
                md_algorithm, sig_algorithm, cert, moment
            )
        algorithm_problem = self._algorithm_verdicts[algorithms_key]
        outcome(
            CheckName.ALGORITHM_POLICY,
            SubIndication.CRYPTO_CONSTRAINTS_FAILURE if algorithm_problem else None,
            algorithm_problem or f"{sig_algorithm['algorithm'].native} with {md_algorithm}.",
        )

        actual = _digest(md_algorithm, document, sha256)
        try:
            intact, valid = validate_sig_integrity(
                signer_info,
                cert,
                signed["encap_content_info"]["content_type"].native,
                actual or b"",
            )
        except Exception as e:
            outcome(CheckName.SIGNATURE_VALUE, SubIndication.FORMAT_FAILURE, f"{e}")
            return _report(moment, checks, failures, signer)
        if actual is None:
            outcome(
                CheckName.MESSAGE_DIGEST,
                SubIndication.SIGNED_DATA_NOT_FOUND,
                f"Signed with {md_algorithm}; only the SHA-256 of the signed bytes is at hand.",
            )
        else:
            outcome(
                CheckName.MESSAGE_DIGEST,
                None if intact else SubIndication.HASH_FAILURE,
                "The signed bytes match the signed message digest."
                if intact
                else "The signed bytes do not match the signature's message digest.",
            )
        outcome(
            CheckName.SIGNATURE_VALUE,
            None if valid else SubIndication.SIG_CRYPTO_FAILURE,
            "The signature value verifies with the signer's key."
            if valid
            else "The signature value does not verify with the signer's key.",
        )

        cert_outcome = await self._certificate_outcome(cert, cert_info.other_certs, at)
        checks.extend(cert_outcome.checks)
        failures.extend(cert_outcome.failures)

        binding = None
        if tax_code is not None:
            binding = EnterpriseBinding(
                tax_code=tax_code,
                subject_matches=tax_code in signer.tax_codes,
                registered=registered is not None and signer.sha256_fingerprint in registered,
            )
            outcome(
                CheckName.ENTERPRISE_BINDING,
                None if binding.subject_matches and binding.registered else _NOT_REGISTERED,
                _binding_message(binding),
            )
        return _report(
            moment, checks, failures, signer, binding, cert_outcome.evidence, cert_outcome.chain
        )

    async def verify_certificate(
        self, cert: x509.Certificate, *, at: datetime | None = None
    ) -> Report:
        """Chain, validity, revocation, key usage and algorithms of a signer certificate."""
        moment = at or datetime.now(UTC)
        result = await self._certificate_outcome(cert, (), at)
        checks, failures = list(result.checks), list(result.failures)
        key = cert.public_key
        if key.algorithm == "rsa" and key.bit_size < self.policy.rsa_min_bits:
            message = f"A {key.bit_size}-bit RSA key; the policy needs {self.policy.rsa_min_bits}."
            checks.append(Check(CheckName.ALGORITHM_POLICY, CheckStatus.INDETERMINATE, message))
            failures.append(SubIndication.CRYPTO_CONSTRAINTS_FAILURE)
        return _report(
            moment,
            checks,
            failures,
            describe(cert),
            None,
            result.evidence,
            result.chain,
        )

    def _certificates_of(self, signed: cms.SignedData, signer_info: cms.SignerInfo) -> Any:
        """pyHanko's signer certificate and others of the signature; the same certificate
        bytes and signer identifier give the same answer, so it is kept."""
        key = hashlib.sha256(signed["certificates"].dump() + signer_info["sid"].dump()).digest()
        found = self._certificate_sets.get(key)
        if found is None:
            found = extract_certificate_info(signed)
            if len(self._certificate_sets) > self.policy.cache_size:
                self._certificate_sets.clear()
            self._certificate_sets[key] = found
        return found

    def _strict_path_problem(
        self, cert: x509.Certificate, carried: Collection[x509.Certificate], at: datetime | None
    ) -> str | None:
        """A second, strict opinion on the path: ``cryptography``'s RFC 5280 verifier with
        the CA profile of the Web PKI and no end-entity profile (key usage and the tax code
        are checked by this module), bounded in depth."""
        trust = self._trust
        try:
            verifier = (
                PolicyBuilder()
                .store(trust.strict_store)
                .time(at or datetime.now(UTC))
                .max_chain_depth(MAX_CHAIN_DEPTH)
                .extension_policies(
                    ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                    ee_policy=ExtensionPolicy.permit_all(),
                )
                .build_client_verifier()
            )
            others = [cx509.load_der_x509_certificate(c.dump()) for c in carried]
            verifier.verify(
                cx509.load_der_x509_certificate(cert.dump()), [*trust.strict_intermediates, *others]
            )
        except (VerificationError, ValueError) as e:
            return str(e)
        return None

    def _describe(self, cert: x509.Certificate) -> Signer:
        key = fingerprint(cert)
        signer = self._signers.get(key)
        if signer is None:
            signer = self._signers[key] = describe(cert)
            while len(self._signers) > self.policy.cache_size:
                self._signers.popitem(last=False)
        return signer

    def _algorithm_problem(
        self,
        md_algorithm: str,
        sig_algorithm: algos.SignedDigestAlgorithm,
        cert: x509.Certificate,
        moment: datetime,
    ) -> str | None:
        try:
            digest_ok = self._algorithms.digest_algorithm_allowed(
                algos.DigestAlgorithm({"algorithm": md_algorithm}), moment
            )
            if not digest_ok:
                return f"The digest algorithm {md_algorithm} is refused by policy."
            sig_ok = self._algorithms.signature_algorithm_allowed(
                sig_algorithm, moment, cert.public_key
            )
            if not sig_ok:
                reason = sig_ok.failure_reason or ""
                return (
                    f"The signature algorithm {sig_algorithm['algorithm'].native} with a "
                    f"{cert.public_key.bit_size}-bit key is refused by policy. {reason}".strip()
                )
        except (ValueError, KeyError, NotImplementedError) as e:
            return f"Unsupported algorithm: {e}"
        return None

    async def _certificate_outcome(
        self,
        cert: x509.Certificate,
        carried: Collection[x509.Certificate],
        at: datetime | None,
    ) -> _CertOutcome:
        key = (
            fingerprint(cert),
            tuple(sorted(fingerprint(c) for c in carried)),
            self._trust.version,
            self.policy.revocation,
            at,
        )
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and (at is not None or now - cached[0] < self.policy.cache_seconds):
            self._cache.move_to_end(key)
            return cached[1]
        result = await self._validate_certificate(cert, carried, at)
        self._cache[key] = (now, result)
        while len(self._cache) > self.policy.cache_size:
            self._cache.popitem(last=False)
        return result

    async def _validate_certificate(
        self,
        cert: x509.Certificate,
        carried: Collection[x509.Certificate],
        at: datetime | None,
    ) -> _CertOutcome:
        trust = self._trust
        mode = self.policy.revocation
        context = ValidationContext(
            trust_roots=list(trust.anchors),
            other_certs=[*trust.intermediates, *carried],
            crls=list(trust.crls) if mode is not RevocationMode.OFF else [],
            moment=at,
            allow_fetching=False,
            revocation_mode=_PKIX_MODE.get(mode, "soft-fail"),
            algorithm_usage_policy=self.policy.algorithms(),
        )
        checks: list[Check] = []
        failures: list[SubIndication] = []
        path: ValidationPath | None = None
        sub: SubIndication | None
        try:
            if cert.self_signed != "no" and fingerprint(cert) not in trust.anchor_fingerprints:
                raise pkix.PathBuildingError("Self-signed, and not a trust anchor.")
            async with asyncio.timeout(self.policy.path_timeout_seconds):
                validator = CertificateValidator(cert, validation_context=context)
                path = await validator.async_validate_path()
        except TimeoutError:
            name, sub = CheckName.CHAIN, SubIndication.NO_CERTIFICATE_CHAIN_FOUND
            message = "Path building took too long."
        except pkix.PathBuildingError as e:
            name, sub, message = CheckName.CHAIN, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, str(e)
        except pkix.RevokedError as e:
            name, sub, message = CheckName.REVOCATION, SubIndication.REVOKED, str(e)
            path = e.original_path
        except pkix.InsufficientRevinfoError as e:
            name, sub, message = CheckName.REVOCATION, SubIndication.TRY_LATER, str(e)
            path = e.original_path
        except pkix.ExpiredError as e:
            name, sub, message = CheckName.VALIDITY, SubIndication.EXPIRED, str(e)
            path = e.original_path
        except pkix.NotYetValidError as e:
            name, sub, message = CheckName.VALIDITY, SubIndication.NOT_YET_VALID, str(e)
            path = e.original_path
        except pkix.DisallowedAlgorithmError as e:
            name, sub, message = (
                CheckName.ALGORITHM_POLICY,
                SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                str(e),
            )
            path = e.original_path
        except pkix.PathValidationError as e:
            name, sub = CheckName.CHAIN, SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
            message, path = str(e), e.original_path
        except pkix.InvalidCertificateError as e:
            name, sub, message = CheckName.CHAIN, SubIndication.CHAIN_CONSTRAINTS_FAILURE, str(e)
        except (pkix.ValidationError, ValueError) as e:
            name, sub = CheckName.CHAIN, SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
            message = str(e)
        else:
            name, sub, message = CheckName.CHAIN, None, ""
            strict = self.policy.strict_path and self._strict_path_problem(cert, carried, at)
            if strict:
                name, sub = CheckName.CHAIN, SubIndication.CHAIN_CONSTRAINTS_FAILURE
                message = f"Not an RFC 5280 path (strict profile): {strict}"
        chain = [c.subject.human_friendly for c in path.iter_certs(True)] if path else []
        evidence = _evidence(path, trust) if path else []

        passed = {
            CheckName.CHAIN: f"Chains to {chain[0]}." if chain else "",
            CheckName.VALIDITY: "Every certificate of the path is valid at the validation time.",
            CheckName.REVOCATION: _revocation_passed(mode, evidence),
        }
        failed_check = name if sub is not None else None
        order = (CheckName.CHAIN, CheckName.VALIDITY, CheckName.REVOCATION)
        reached = order.index(failed_check) if failed_check in order else len(order)
        for position, check_name in enumerate(order):
            if sub is not None and check_name == failed_check:
                status = (
                    CheckStatus.FAILED
                    if INDICATION_OF[sub] is Indication.TOTAL_FAILED
                    else CheckStatus.INDETERMINATE
                )
                checks.append(Check(check_name, status, message))
                failures.append(sub)
            elif sub is None or (path is not None and position < reached):
                checks.append(Check(check_name, CheckStatus.PASSED, passed[check_name]))
            else:
                checks.append(Check(check_name, CheckStatus.SKIPPED, "Not reached."))
        if failed_check is CheckName.ALGORITHM_POLICY:
            checks.append(Check(CheckName.ALGORITHM_POLICY, CheckStatus.INDETERMINATE, message))
            failures.append(SubIndication.CRYPTO_CONSTRAINTS_FAILURE)

        try:
            SIGNING_USAGE.validate(cert)
            checks.append(Check(CheckName.KEY_USAGE, CheckStatus.PASSED, "Usable for signing."))
        except pkix.InvalidCertificateError as e:
            checks.append(Check(CheckName.KEY_USAGE, CheckStatus.INDETERMINATE, str(e)))
            failures.append(SubIndication.CHAIN_CONSTRAINTS_FAILURE)
        return _CertOutcome(checks, failures, chain, evidence)


_NOT_REGISTERED = SubIndication.NOT_REGISTERED


def _binding_message(binding: EnterpriseBinding) -> str:
    if not binding.subject_matches:
        return f"The signer's subject does not name tax code {binding.tax_code} (UID=MST:…)."
    if not binding.registered:
        return f"The signer's certificate is not registered for tax code {binding.tax_code}."
    return f"A certificate registered for tax code {binding.tax_code}."


def _revocation_passed(mode: RevocationMode, evidence: list[RevocationEvidence]) -> str:
    if mode is RevocationMode.OFF:
        return "Revocation not checked (--revocation off)."
    if not evidence:
        return "No CRL at hand (soft-fail)."
    return "Not revoked according to " + ", ".join(e.crl_issuer for e in evidence) + "."


def _digest(md_algorithm: str, document: bytes | None, sha256: bytes | None) -> bytes | None:
    if document is not None:
        try:
            return hashlib.new(md_algorithm, document).digest()
        except (ValueError, TypeError):  # a digest hashlib does not know
            return None
    if sha256 is not None and md_algorithm == "sha256":
        return sha256
    return None


def _evidence(path: ValidationPath, trust: TrustMaterial) -> list[RevocationEvidence]:
    found = []
    for cert in path.iter_certs(False):
        for crl in trust.crls:
            if crl.issuer != cert.issuer:
                continue
            tbs = crl["tbs_cert_list"]
            found.append(
                RevocationEvidence(
                    certificate_subject=cert.subject.human_friendly,
                    crl_issuer=crl.issuer.human_friendly,
                    this_update=tbs["this_update"].native,
                    next_update=tbs["next_update"].native,
                    crl_sha256=hashlib.sha256(crl.dump()).hexdigest(),
                )
            )
    return found


def _report(
    moment: datetime,
    checks: list[Check],
    failures: list[SubIndication],
    signer: Signer | None = None,
    binding: EnterpriseBinding | None = None,
    evidence: list[RevocationEvidence] | None = None,
    chain: list[str] | None = None,
) -> Report:
    sub = min(failures, key=PRECEDENCE.index) if failures else None
    return Report(
        indication=INDICATION_OF[sub] if sub else Indication.TOTAL_PASSED,
        sub_indication=sub,
        validation_time=moment,
        checks=checks,
        signer=signer,
        enterprise_binding=binding,
        revocation_evidence=evidence or [],
        chain=chain or [],
    )
