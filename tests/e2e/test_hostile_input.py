"""Schema-driven hostile input against each service's own OpenAPI and the gateway's merged
one, with a valid token of every role: whatever arrives, the answer is never a 5xx, its
status code is one the operation documents, and its body and media type are what the
document says for that status."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from customs_shared.auth import Role
from customs_shared.services import GATEWAY, SERVICES
from tests.support.cluster import CLIENTS_FILE, Cluster

pytestmark = pytest.mark.e2e

# Cases per operation, the role of each drawn among all roles. The gateway's document is
# the whole API through the gateway, as clients see it; a service's own is the same
# operations straight at the service, so fewer cases there.
EXAMPLES = {GATEWAY.name: 30}
EXAMPLES_PER_SERVICE_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]
# Writes that change what every later declaration of the shared cluster meets (risk
# lists, reference prices, rule sets, officers' queues, exchange rates, IPR records,
# partner intelligence): fuzzed only with data their schema refuses, which must change
# nothing. Their accepted writes have tests of their own.
SHARED_STATE_WRITES = (
    "/api/v1/routing/risk-lists/",
    "/api/v1/routing/trader-profiles/",
    "/api/v1/routing/reference-prices/",
    "/api/v1/routing/rule-sets/{version}/activation",
    "/api/v1/routing/officers/",
    "/api/v1/declarations/exchange-rates",
    "/api/v1/ipr/records/import",
    "/api/v1/partner-events",
)


def _clients_by_role() -> dict[Role, str]:
    """One demo client of each role (deploy/local/clients.json)."""
    clients = json.loads(CLIENTS_FILE.read_text())
    found: dict[Role, str] = {}
    for client in clients if isinstance(clients, list) else clients["clients"]:
        for role in client["roles"]:
            found.setdefault(Role(role), client["client_id"])
    return found


CLIENTS = _clients_by_role()


def test_every_role_has_a_demo_client() -> None:
    assert set(CLIENTS) == set(Role)


def _shared_state_write(method: str, path: str) -> bool:
    return method.upper() != "GET" and path.startswith(SHARED_STATE_WRITES)


@dataclass(frozen=True)
class Finding:
    operation: str
    role: str
    title: str
    message: str


@pytest.mark.parametrize("service", [spec.name for spec in SERVICES])
def test_api_answers_every_role_as_documented(cluster: Cluster, service: str) -> None:
    # The OpenAPI is served on the internal listener; the API itself on the public one.
    schema = schemathesis.openapi.from_url(f"{cluster.internal_url(service)}/openapi.json")
    base_url = cluster.url(service)
    tokens = {role: cluster.token(client) for role, client in CLIENTS.items()}
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert operations
    assert len(operations) == len(results), "some operations' schemas are invalid"
    examples = EXAMPLES.get(service, EXAMPLES_PER_SERVICE_OPERATION)
    findings: dict[tuple[str, str], Finding] = {}
    calls = 0
    session = requests.Session()

    for operation in operations:
        mode = (
            GenerationMode.NEGATIVE
            if _shared_state_write(operation.method, operation.path)
            else GenerationMode.POSITIVE
        )

        # A failing case is recorded, not raised: no shrinking (it would cost many more
        # calls), and every operation is still run, so one run shows every finding.
        @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(list(Role)))
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case: schemathesis.Case[Any], role: Role) -> None:
            nonlocal calls
            calls += 1
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            response = case.call(base_url=base_url, session=session, headers=headers)
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as exc:
                for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                    assert isinstance(failure, Failure)
                    findings.setdefault(
                        (case.operation.label, failure.title),
                        Finding(
                            case.operation.label,
                            role.value,
                            failure.title,
                            f"{failure.message} {response.text[:300]}\n{case.as_curl_command()}",
                        ),
                    )

        try:
            call()
        except Unsatisfiable:
            # No data the schema refuses (it takes any JSON there): nothing to send.
            assert mode is GenerationMode.NEGATIVE, operation.label
    report = "\n".join(
        f"{f.operation} as {f.role}: {f.title}: {f.message[:1200]}" for f in findings.values()
    )
    assert not findings, f"{len(findings)} findings:\n{report}"
    assert calls >= 5 * len(operations)  # really generated and sent cases
