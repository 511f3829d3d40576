from __future__ import annotations

import hashlib

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from customs_shared.canonical import (
    NotCanonicalizable,
    sent_digests,
    signed_bytes,
    signed_digest,
)


def test_signed_bytes_are_rfc8785_without_the_signature() -> None:
    body = {"z": 1, "a": {"y": "é", "b": [3, 1.5]}, "signature": "MIAG…"}
    assert signed_bytes(body) == '{"a":{"b":[3,1.5],"y":"é"},"z":1}'.encode()
    assert signed_digest(body) == hashlib.sha256(signed_bytes(body)).digest()
    assert signed_bytes({**body, "signature": None}) == signed_bytes(body)


def test_the_body_digest_covers_the_whole_body_and_the_signed_one_all_but_its_signature() -> None:
    body = {"z": 1, "a": [2.50, "é"], "signature": "MIAG"}
    digests = sent_digests(body, signed=True)
    assert (
        digests.body == hashlib.sha256(b'{"a":[2.5,"\xc3\xa9"],"signature":"MIAG","z":1}').digest()
    )
    assert digests.signed == signed_digest(body)
    assert sent_digests({"z": 1}, signed=False).signed is None


def test_an_integer_beyond_double_precision_has_no_digest() -> None:
    with pytest.raises(NotCanonicalizable, match="RFC 8785"):
        sent_digests({"quantity": 2**53}, signed=False)
    assert rfc8785.dumps({"quantity": 2**53 - 1}) == b'{"quantity":9007199254740991}'


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
# Names beyond the Basic Multilingual Plane sort apart in UTF-16 and in code points.
_NAMES = st.one_of(_TEXT, st.sampled_from(["signature", "\U0001f600", "\uff61", "a", "é"]))


@given(st.dictionaries(_NAMES, _JSON, max_size=6), st.one_of(st.none(), _TEXT))
def test_both_digests_are_those_of_the_library_s_canonical_json(
    body: dict[str, object], signature: str | None
) -> None:
    if signature is not None:
        body = {**body, "signature": signature}
    digests = sent_digests(body, signed=True)
    assert digests.body == hashlib.sha256(rfc8785.dumps(body)).digest()
    assert (
        digests.signed
        == hashlib.sha256(
            rfc8785.dumps({k: v for k, v in body.items() if k != "signature"})
        ).digest()
    )
