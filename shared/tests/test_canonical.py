from __future__ import annotations

import hashlib

from customs_shared.canonical import signed_bytes, signed_digest


def test_signed_bytes_are_rfc8785_without_the_signature() -> None:
    body = {"z": 1, "a": {"y": "é", "b": [3, 1.5]}, "signature": "MIAG…"}
    assert signed_bytes(body) == '{"a":{"b":[3,1.5],"y":"é"},"z":1}'.encode()
    assert signed_digest(body) == hashlib.sha256(signed_bytes(body)).digest()
    assert signed_bytes({**body, "signature": None}) == signed_bytes(body)
