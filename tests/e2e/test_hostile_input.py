"""Schema-driven hostile input against each service's own OpenAPI: whatever arrives,
the answer is never a 5xx (a 4xx problem instead)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from customs_shared.services import SERVICES
from tests.support.cluster import Cluster

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 40


@pytest.mark.parametrize("service", [spec.name for spec in SERVICES])
def test_api_never_answers_5xx(cluster: Cluster, service: str) -> None:
    # The OpenAPI is served on the internal listener; the API itself on the public one.
    schema = schemathesis.openapi.from_url(f"{cluster.internal_url(service)}/openapi.json")
    base_url = cluster.url(service)
    headers = {"Authorization": f"Bearer {cluster.token('demo-broker')}"}
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert operations
    assert len(operations) == len(results), "some operations' schemas are invalid"
    calls = 0

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case: schemathesis.Case[Any]) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])

        call()
    assert calls >= 5 * len(operations)  # really generated and sent cases
