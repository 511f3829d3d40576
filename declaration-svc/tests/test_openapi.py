"""The published contract: every error an operation lists is a problem+json body."""

from __future__ import annotations

from declaration_svc.main import create_app

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def test_every_listed_error_is_a_problem() -> None:
    schema = create_app().openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    operations = [op for ops in schema["paths"].values() for op in ops.values()]
    assert operations
    for operation in operations:
        errors = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        if operation.get("security"):  # not the public receipts' JWKS (no token, no input)
            assert {"401", "403", "422"} <= set(errors), operation["operationId"]
        for response in errors.values():
            assert response["content"]["application/problem+json"]["schema"] == PROBLEM
