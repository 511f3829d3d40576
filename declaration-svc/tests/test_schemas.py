from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from declaration_svc.declarations.schemas import DeclarationIn

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text()))


def test_shipped_samples_are_valid() -> None:
    enterprise = DeclarationIn.model_validate(sample("declaration-enterprise"))
    assert enterprise.declarant.tax_code == "0314409058"
    assert enterprise.containers == ["CSQU3054383"]
    DeclarationIn.model_validate(sample("declaration-individual"))


def test_branch_tax_codes_are_accepted_and_normalised() -> None:
    body = sample("declaration-enterprise")
    body["declarant"]["tax_code"] = "0314409058 - 001"
    assert DeclarationIn.model_validate(body).declarant.tax_code == "0314409058-001"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("declarant", "tax_code"), "0314409059"),
        (("declarant", "tax_code"), None),
        (("currency",), "vnd"),
        (("containers",), ["CSQU3054384"]),
        (("signature",), "not base64!"),
        (("items",), []),
        (("declaration_type",), "transit"),
    ],
)
def test_invalid_fields_are_refused(path: tuple[str, ...], value: Any) -> None:
    body = sample("declaration-enterprise")
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        DeclarationIn.model_validate(body)


def test_money_never_becomes_float() -> None:
    body = sample("declaration-enterprise")
    body["items"][0]["customs_value"] = "0.1"
    del body["invoice"]
    parsed = DeclarationIn.model_validate(body)
    assert str(parsed.items[0].customs_value) == "0.1"


def test_unknown_fields_are_refused() -> None:
    body = sample("declaration-individual")
    body["surprise"] = 1
    with pytest.raises(ValidationError):
        DeclarationIn.model_validate(body)


@pytest.mark.parametrize(
    "path",
    [
        ("declarant", "name"),
        ("items", 0, "description"),
        ("items", 0, "unit"),
        ("items", 0, "brand"),
    ],
)
@pytest.mark.parametrize("control", ["\x00", "\x07", "\r", "\x1b", "\x7f", "\x9b"])
def test_control_characters_in_free_text_are_refused(
    path: tuple[str | int, ...], control: str
) -> None:
    body: Any = sample("declaration-enterprise")
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = f"A{control}B"
    with pytest.raises(ValidationError) as raised:
        DeclarationIn.model_validate(body)
    (error,) = raised.value.errors()
    assert error["loc"] == path
    assert "control character" in error["msg"]


def test_tab_and_line_feed_are_kept_in_free_text() -> None:
    body = sample("declaration-enterprise")
    body["declarant"]["name"] = "Cong ty\tSai Gon\nChi nhanh"
    body["items"][0]["brand"] = "Acme\tOne"
    parsed = DeclarationIn.model_validate(body)
    assert parsed.declarant.name == "Cong ty\tSai Gon\nChi nhanh"
    assert parsed.items[0].brand == "Acme\tOne"
