"""The enterprise identity in a certificate subject: ``UID=MST:<tax code>``."""

from __future__ import annotations

import re

from asn1crypto import x509

USER_ID_OID = "0.9.2342.19200300.100.1.1"
_MST = re.compile(r"MST:(\d{10}(?:-\d{3})?)")


def tax_codes(cert: x509.Certificate) -> list[str]:
    """Every tax code named by a ``UID=MST:…`` attribute of the subject, in order."""
    found: list[str] = []
    for rdn in cert.subject.chosen:
        for attribute in rdn:
            if attribute["type"].dotted != USER_ID_OID:
                continue
            value = attribute["value"].native
            match = _MST.fullmatch(value.strip()) if isinstance(value, str) else None
            if match and match.group(1) not in found:
                found.append(match.group(1))
    return found
