"""A broker keeps the receipt of its submission and verifies it with the published JWKS:
the signature, and the digest of the body it sent (RFC 8785 over that JSON)."""

from __future__ import annotations

import hashlib

import jwt
import pytest
import rfc8785

from tests.e2e.test_declaration_flow import submit
from tests.support.cluster import Cluster
from tests.support.samples import sample

pytestmark = pytest.mark.e2e


def test_the_receipt_verifies_with_the_published_jwks(cluster: Cluster) -> None:
    body = sample("declaration-enterprise")
    with cluster.client("demo-broker") as client:
        accepted = submit(client, body).json()
        again = client.get(f"{accepted['status_url']}/receipt")
    with cluster.client("demo-broker-b") as other:
        foreign = other.get(f"{accepted['status_url']}/receipt")
    # Whoever the broker shows it to verifies it with no token of ours.
    with cluster.client() as anyone:
        jwks = anyone.get("/api/v1/declarations/receipts/jwks.json")
        denied = anyone.get(f"{accepted['status_url']}/receipt")
    assert jwks.status_code == 200, jwks.text
    assert "public" in jwks.headers["cache-control"]
    assert all("d" not in key for key in jwks.json()["keys"])  # public halves only
    assert denied.status_code == 401
    token = accepted["receipt"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in jwks.json()["keys"] if k["kid"] == kid]
    claims = jwt.decode(token, jwt.PyJWK(jwk, "EdDSA"), algorithms=["EdDSA"])
    assert claims["declaration_id"] == accepted["id"]
    assert (claims["version"], claims["tenant"]) == (1, "0312345673")
    assert claims["body_sha256"] == hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    assert claims["body_canonicalization"] == "RFC8785"
    assert again.status_code == 200
    assert again.json()["jws"] == token
    assert foreign.status_code == 404
