from __future__ import annotations

import base64
import copy
import json
from typing import Any

from customs_shared.canonical import signed_bytes
from deploy.local.cluster import REPO
from tests.support.pki import Pki, Signer

SAMPLES = REPO / "samples"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text()))


def signed(
    body: dict[str, Any], pki: Pki | None = None, signer: Signer | None = None
) -> dict[str, Any]:
    """The body with a detached CMS signature over its RFC 8785 canonical JSON, made by
    ``openssl cms -sign`` with the PKI's enterprise certificate (or ``signer``). Without a
    PKI, a placeholder that no verifier accepts (it fails as a format failure)."""
    result = copy.deepcopy(body)
    result.pop("signature", None)
    if pki is None:
        cms = b"0\x82detached-cms-placeholder"
    else:
        cms = pki.sign_bytes(signed_bytes(result), signer or pki.enterprise_a)
    result["signature"] = base64.b64encode(cms).decode()
    return result
