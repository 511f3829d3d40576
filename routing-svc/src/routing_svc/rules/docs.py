"""Renders docs/routing-rules.md: ``python -m routing_svc.rules.docs > docs/routing-rules.md``.
The field list is checked against what rules.inputs.build really produces (a test fails
when a field is undocumented or documented but gone), and the built-in rules and the
example input come from the code itself."""

from __future__ import annotations

import json
import sys
from typing import Any

from routing_svc.rules import definitions, sample

# path -> (CEL type, meaning). "[]" marks the elements of a list.
FIELDS: dict[str, tuple[str, str]] = {
    "declaration.id": ("string", "The declaration's id (UUID)."),
    "declaration.version": ("int", "Its version: 1, then one more per amendment."),
    "declaration.type": ("string", "`import` or `export`."),
    "declaration.office": ("string", "Customs office code, e.g. `03CC`."),
    "declaration.declarant_kind": ("string", "`enterprise` or `individual`."),
    "declaration.declarant_tax_code": ("string", "Optional. The declarant's tax code."),
    "declaration.currency": ("string", "ISO 4217 code of the declared values."),
    "declaration.value": ("double", "Total customs value in the declared currency."),
    "declaration.value_vnd": (
        "double",
        "Optional. Total customs value in VND at the customs rate.",
    ),
    "declaration.export_country": ("string", "Optional. Country of export (ISO 3166 alpha-2)."),
    "declaration.transport_mode": ("string", "Optional. `sea`, `air`, `road`, `rail`, …"),
    "declaration.containers": ("list(string)", "ISO 6346 numbers of the containers."),
    "declaration.item_count": ("int", "Number of items."),
    "declaration.submitted_at": ("string", "RFC 3339 time of submission; `timestamp(…)` it."),
    "items[].line": ("int", "Item line number, from 1."),
    "items[].hs_code": ("string", "8-digit HS code (AHTN)."),
    "items[].hs_subheading": ("string", "Its first six digits."),
    "items[].hs_heading": ("string", "Its first four digits."),
    "items[].description": ("string", "Description of the goods."),
    "items[].brand": ("string", "Optional. Brand or mark."),
    "items[].origin_country": ("string", "Country of origin (alpha-2)."),
    "items[].quantity": ("double", "Quantity in `unit`."),
    "items[].unit": ("string", "UN/ECE Rec 20 unit code, e.g. `PCE`, `KGM`."),
    "items[].value_vnd": ("double", "Optional. The item's customs value in VND."),
    "items[].unit_price_vnd": ("double", "Optional. `value_vnd` / `quantity`."),
    "items[].reference_unit_price_vnd": (
        "double",
        "Optional. Reference price per unit for the 8-digit code (else the subheading), "
        "origin and unit, kept by risk managers.",
    ),
    "items[].preferential_claimed": ("bool", "Preferential origin is claimed for the item."),
    "items[].preferential_form": ("string", "Optional. Form of the certificate, e.g. `D`, `E`."),
    "items[].preferential_certificate": ("string", "Optional. Certificate reference claimed."),
    "items[].origin_certificate_matched": (
        "bool",
        "An issued e-C/O with that reference was received from the item's country of origin, "
        "for Vietnam, covering the item's subheading (and naming the importer, if it names one).",
    ),
    "items[].origin_risk": ("string", "Optional. Risk level of the origin country's list entry."),
    "items[].hs_risk": ("string", "Optional. Risk level of the most specific HS list entry."),
    "trader.known": ("bool", "A profile is kept for the declarant."),
    "trader.tax_code": ("string", "Optional. The declarant's tax code (when known)."),
    "trader.compliance_level": (
        "string",
        "`high`, `medium`, `low`, `non_compliant`, or `unknown` without a profile.",
    ),
    "trader.priority": ("bool", "Priority enterprise / authorised economic operator."),
    "trader.past_violations": ("int", "Violations on record."),
    "screening.signature": (
        "string",
        "`valid`, `invalid`, `indeterminate`, `missing` (an enterprise sent none), "
        "`not_required`, `present`, or `no_result` when the check had not answered in time.",
    ),
    "screening.ipr": ("string", "`clear`, `hit`, or `no_result`."),
    "screening.ipr_hits[].record_id": ("string", "The IPR record met."),
    "screening.ipr_hits[].line": ("int", "The item line that met it."),
    "screening.ipr_hits[].mark": ("string", "The mark matched."),
    "screening.ipr_suspended": ("bool", "Release is suspended on a right holder's request."),
    "screening.complete": ("bool", "Both screening results arrived before the deadline."),
    "screening.timed_out": ("bool", "Decided at the deadline."),
    "intelligence.radiation_alarms[].container_number": ("string", "Container alarmed."),
    "intelligence.radiation_alarms[].port": ("string", "UN/LOCODE of the monitor's port."),
    "intelligence.radiation_alarms[].monitor_id": ("string", "The portal monitor."),
    "intelligence.radiation_alarms[].level": ("string", "`alert` or `alarm`."),
    "intelligence.radiation_alarms[].nuclide": ("string", "Optional. Nuclide identified."),
    "intelligence.radiation_alarms[].detected_at": ("string", "RFC 3339."),
    "intelligence.radiation_alarms[].valid_until": ("string", "RFC 3339; in force until then."),
    "intelligence.risk_alerts[].alert_id": ("string", "The alert's id."),
    "intelligence.risk_alerts[].issuing_authority": ("string", "Who sent it."),
    "intelligence.risk_alerts[].risk_level": ("string", "`low`, `medium` or `high`."),
    "intelligence.risk_alerts[].lane": ("string", "`yellow` or `red`: what the sender asks."),
    "intelligence.risk_alerts[].reason": ("string", "The sender's reason."),
    "intelligence.risk_alerts[].matched": (
        "list(string)",
        "What of this declaration it names: `trader …`, `HS heading …`, `container …`, "
        "`route CN->VN`. Only alerts in force that match are listed.",
    ),
    "intelligence.risk_alerts[].valid_until": ("string", "RFC 3339."),
    "risk.countries[].code": ("string", "A listed country among the export and origin countries."),
    "risk.countries[].level": ("string", "`low`, `medium` or `high`."),
    "risk.countries[].reason": ("string", "Why it is listed."),
    "risk.hs[].code": ("string", "The listed HS code (4, 6 or 8 digits) an item falls under."),
    "risk.hs[].level": ("string", "`low`, `medium` or `high`."),
    "risk.hs[].reason": ("string", "Why it is listed."),
    "risk.hs[].line": ("int", "The item line."),
    "now": ("timestamp", "The time of the decision."),
}


def produced_paths(values: Any, prefix: str = "") -> set[str]:
    """Every leaf path of a built input, lists marked ``[]``."""
    if isinstance(values, dict):
        paths: set[str] = set()
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for element in value:
                    paths |= produced_paths(element, f"{path}[]")
            elif isinstance(value, dict):
                paths |= produced_paths(value, path)
            else:
                paths.add(path)
        return paths
    return {prefix}


def render() -> str:
    rule_set = definitions.builtin()
    lines = [
        "# Routing rules",
        "",
        "Generated by `uv run python -m routing_svc.rules.docs > docs/routing-rules.md`;",
        "do not edit by hand.",
        "",
        "A rule is a [CEL](https://cel.dev) condition over the input below. Every rule in",
        "force (inside its `valid_from`/`valid_until` window) is evaluated on every decision;",
        "the lane is the most severe a fired rule demands (red > yellow > green), the score",
        "the sum of the fired rules' weights. Each reason records the inputs its rule read",
        "(`saw`). A rule",
        "that cannot be evaluated (an optional field read without `has(…)`) does not fire and is",
        "listed under `rule_errors`. Random selection may then raise the lane, never lower it.",
        "",
        "Before activation each rule is compiled and type-checked, then run on the example input",
        "below, which has every optional field: a misspelt field or a non-boolean condition is",
        "refused with the compiler's message and the rule's id. A reason is a template: `{path}`",
        "inserts an input (over a list, the values of every element).",
        "",
        "## Input",
        "",
        "Optional fields are absent, not null: test them with `has(x.field)`. Times other than",
        "`now` are RFC 3339 strings. `items[]` is the list `items`, e.g.",
        "`items.exists(i, i.hs_heading == '8517')`.",
        "",
        "| field | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{path}` | {kind} | {meaning} |" for path, (kind, meaning) in FIELDS.items()]
    lines += [
        "",
        "## Built-in rule set",
        "",
        "Shipped as `routing-svc/src/routing_svc/rules/builtin_rule_set.yaml`; in force until",
        "a rule set is activated through `/api/v1/routing/rule-sets`.",
        "",
        "| id | lane | weight | condition |",
        "|---|---|---|---|",
    ]
    for rule in rule_set.rules:
        condition = rule.expression.replace("|", "\\|")
        lines.append(f"| `{rule.id}` | {rule.lane.value} | {rule.weight} | `{condition}` |")
    example = {k: v for k, v in sample.values().items() if k != "now"}
    lines += [
        "",
        "## Example input",
        "",
        "```json",
        json.dumps(example, indent=2, ensure_ascii=False),
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
