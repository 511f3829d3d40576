"""What ``make bench BENCH=routing`` decides on: declarations as traders file them (several
items, some claiming preferential origin, containers, a trader profile), the risk lists,
reference prices and partner intelligence in force, and a rule set of 50 rules: the built-in
ones plus rules of the shapes officers write (HS headings, countries, values, traders)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from stdnum import iso6346
from stdnum.vn import mst

from customs_shared.events.schemas import (
    CertificateStatus,
    DeclarantKind,
    DeclarationSubmitted,
    IprHit,
    IprOutcome,
    ItemFacts,
    Lane,
    OriginCertificate,
    PreferentialOriginClaim,
    RadiationAlarm,
    RadiationLevel,
    RiskAlert,
    SignatureStatus,
)
from routing_svc.rules import definitions
from routing_svc.rules.definitions import RuleDefinition, RuleSetDefinition
from routing_svc.rules.inputs import Evidence, RiskListEntry, TraderProfile

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OFFICES = ("01B1", "02CI", "03CC", "47NB", "18B1")
# Countries of origin and export, weighted about as imports into Viet Nam are.
COUNTRY_WEIGHTS = {"CN": 40, "KR": 15, "JP": 10, "TH": 7, "US": 6, "TW": 5, "DE": 4, "MY": 4,
                   "ID": 4, "IN": 2, "BD": 1, "PK": 0.2}  # fmt: skip
COUNTRIES = tuple(COUNTRY_WEIGHTS)
# Eight-digit codes of goods commonly declared, by heading.
HS_CODES = (
    "85171300", "85176200", "84713020", "84733010", "85044090", "85285910", "61091010",
    "61034200", "62034290", "64039990", "42022200", "39269099", "73181510", "87089999",
    "94036090", "95030099", "33049930", "30049099", "22042111", "24022090", "03061721",
    "08051000", "10063099", "72085100", "76061290", "90183990", "84151010", "40111000",
)  # fmt: skip
# Goods on a risk list are declared far less often than phones and garments.
HS_WEIGHTS = tuple(1 if code[:4] in ("2402", "3004", "3304", "0306") else 10 for code in HS_CODES)
UNITS = {"61": "PCE", "62": "PCE", "64": "PRS", "22": "LTR", "03": "KGM", "08": "KGM",
         "10": "KGM", "72": "KGM", "76": "KGM", "24": "KGM"}  # fmt: skip
FORMS = {"CN": "E", "KR": "AK", "JP": "VJ", "TH": "D", "MY": "D", "ID": "D", "IN": "AI"}
OWNERS = ("MSKU", "MSCU", "CMAU", "HLXU", "OOLU", "TGHU", "EGHU", "ONEU")
RATES = {"yellow": 0.05, "red": 0.01}


def tax_codes(count: int) -> list[str]:
    """Valid 10-digit tax codes (a few bodies have no single check digit: skipped)."""
    made: list[str] = []
    for n in range(1, 10 * count):
        code = f"03{n:07d}" + mst.calc_check_digit(f"03{n:07d}")
        if mst.is_valid(code):
            made.append(code)
        if len(made) == count:
            break
    return made


def container(rng: random.Random) -> str:
    body = rng.choice(OWNERS) + f"{rng.randrange(1_000_000):06d}"
    return body + iso6346.calc_check_digit(body)


TRADERS = tax_codes(300)
CONTAINERS = [container(random.Random(n)) for n in range(2_000)]


def country_risks() -> dict[str, RiskListEntry]:
    return {
        "PK": RiskListEntry("PK", "high", "Narcotics trafficking route"),
        "BD": RiskListEntry("BD", "medium", "Origin fraud on garments"),
        "IN": RiskListEntry("IN", "medium", "Undervalued pharmaceuticals"),
        "TW": RiskListEntry("TW", "low", "Transshipment watch"),
    }


def hs_risks() -> dict[str, RiskListEntry]:
    return {
        "2402": RiskListEntry("2402", "high", "Cigarette smuggling"),
        "3004": RiskListEntry("3004", "medium", "Counterfeit medicines"),
        "9503": RiskListEntry("9503", "low", "Toy safety"),
        "33049930": RiskListEntry("33049930", "medium", "Counterfeit cosmetics"),
    }


def typical_prices(rng: random.Random) -> dict[str, int]:
    """The going unit price in VND of each code's goods."""
    return {code: rng.randrange(20, 2_000) * 1_000 for code in HS_CODES}


def reference_prices(
    rng: random.Random, typical: dict[str, int]
) -> dict[tuple[str, str, str], Decimal]:
    """A reference unit price (the going one) for about two thirds of the code/origin pairs,
    some per 8-digit code, the others per subheading."""
    prices: dict[tuple[str, str, str], Decimal] = {}
    for code in HS_CODES:
        for origin in COUNTRIES:
            if rng.random() < 0.66:
                key = code if rng.random() < 0.5 else code[:6]
                prices[(key, origin, UNITS.get(code[:2], "PCE"))] = Decimal(typical[code])
    return prices


def risk_alerts() -> list[RiskAlert]:
    """Two alerts in force, as every declaration's evidence carries them."""
    window = {"valid_from": "2026-11-01T00:00:00Z", "valid_until": "2026-12-31T00:00:00Z"}
    return [
        RiskAlert.model_validate(
            {
                "alert_id": "KCS-2026-0042",
                "issuing_authority": "Korea Customs Service",
                "targets": {"hs_headings": ["2402"], "routes": [{"from": "PK", "to": "VN"}]},
                "risk_level": "high",
                "lane": "red",
                "reason": "Counterfeit phones and cigarettes routed through third countries",
                **window,
            }
        ),
        RiskAlert.model_validate(
            {
                "alert_id": "JCS-2026-0117",
                "issuing_authority": "Japan Customs",
                "targets": {"trader_tax_codes": TRADERS[:3], "containers": CONTAINERS[:10]},
                "risk_level": "medium",
                "lane": "yellow",
                "reason": "Traders and containers linked to misdeclared machinery",
                **window,
            }
        ),
    ]


def _country(rng: random.Random) -> str:
    return rng.choices(COUNTRIES, weights=tuple(COUNTRY_WEIGHTS.values()))[0]


def _item(
    rng: random.Random,
    line: int,
    certificates: dict[str, OriginCertificate],
    typical: dict[str, int],
) -> ItemFacts:
    code = rng.choices(HS_CODES, weights=HS_WEIGHTS)[0]
    origin = _country(rng)
    quantity = Decimal(rng.choice((1, 2, 5, 10, 20, 50, 100, 200)))
    # Around the going price; a few percent declared at under half of it.
    unit_price = Decimal(round(typical[code] * rng.lognormvariate(0, 0.35)))
    value = quantity * unit_price
    claim: PreferentialOriginClaim | None = None
    if origin in FORMS and rng.random() < 0.25:
        number = f"{FORMS[origin]}26{rng.randrange(10**8):08d}"
        claim = PreferentialOriginClaim(form=FORMS[origin], certificate_number=number)
        if rng.random() < 0.9:  # most claims have their e-C/O
            certificates[number] = OriginCertificate(
                reference=number,
                form=FORMS[origin],
                exporting_country=origin,
                importing_country="VN",
                exporter_name="Exporter Co., Ltd.",
                hs_subheadings=[code[:6]],
                issued_at=NOW - timedelta(days=10),
                status=CertificateStatus.ISSUED,
            )
    return ItemFacts(
        line=line,
        hs_code=code,
        description=f"Goods of heading {code[:4]}, model {rng.randrange(1000)}",
        origin_country=origin,
        quantity=quantity,
        unit=UNITS.get(code[:2], "PCE"),
        customs_value=value,
        customs_value_vnd=value,
        unit_price=unit_price,
        brand=rng.choice((*(None,) * 9, "Acme", "Northwind", "Contoso")),
        preferential_origin=claim,
    )


def evidence(
    rng: random.Random,
    *,
    prices: dict[tuple[str, str, str], Decimal],
    typical: dict[str, int],
    alerts: list[RiskAlert],
) -> Evidence:
    certificates: dict[str, OriginCertificate] = {}
    count = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8))
    items = [_item(rng, n, certificates, typical) for n in range(1, count + 1)]
    trader = rng.choice(TRADERS)
    containers = [rng.choice(CONTAINERS) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    total = sum((i.customs_value for i in items), Decimal(0))
    facts = DeclarationSubmitted(
        declaration_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        tenant=trader,
        declarant_tax_code=trader,
        declarant_kind=DeclarantKind.ENTERPRISE,
        declaration_type=rng.choice(("import", "import", "import", "export")),
        customs_office=rng.choice(OFFICES),
        currency="VND",
        total_customs_value=total,
        total_customs_value_vnd=total,
        items=items,
        signature_present=True,
        submitted_at=NOW - timedelta(minutes=rng.randrange(1, 240)),
        containers=containers,
        export_country=rng.choice((items[0].origin_country, _country(rng))),
        transport_mode=rng.choice(("sea", "sea", "air", "road", "rail")),
    )
    ipr = IprOutcome.HIT if rng.random() < 0.02 else IprOutcome.CLEAR
    hits = [IprHit(record_id="IPR-2026-0001", item_line=1, matched="ACME")]
    known = rng.random() < 0.85
    draw = rng.random()
    level = (
        "high"
        if draw < 0.4
        else "medium"
        if draw < 0.9
        else "low"
        if draw < 0.98
        else "non_compliant"
    )
    alarms = (
        [
            RadiationAlarm(
                container_number=containers[0],
                port="VNHPH",
                monitor_id="RPM-HP-07",
                detected_at=NOW - timedelta(hours=2),
                level=RadiationLevel.ALARM,
                nuclide="Cs-137",
            )
        ]
        if containers and rng.random() < 0.01
        else []
    )
    return Evidence(
        facts=facts,
        signature=rng.choices(
            (SignatureStatus.VALID, SignatureStatus.MISSING, SignatureStatus.INDETERMINATE),
            weights=(96, 2, 2),
        )[0],
        ipr=ipr,
        ipr_hits=hits if ipr is IprOutcome.HIT else [],
        timed_out=False,
        trader=TraderProfile(trader, level, rng.random() < 0.1, rng.choice((*(0,) * 8, 1, 2, 4)))
        if known
        else None,
        country_risks=country_risks(),
        hs_risks=hs_risks(),
        reference_prices=prices,
        radiation_alarms=alarms,
        risk_alerts=alerts,
        origin_certificates=certificates,
    )


def evidences(count: int, seed: int = 9) -> list[Evidence]:
    rng = random.Random(seed)
    typical = typical_prices(rng)
    prices = reference_prices(rng, typical)
    alerts = risk_alerts()
    return [evidence(rng, prices=prices, typical=typical, alerts=alerts) for _ in range(count)]


# Shapes of rules officers write; each generated rule fills one with headings, countries,
# thresholds drawn from the workload's own vocabulary.
_SHAPES = (
    "items.exists(i, i.hs_heading == '{h}' && i.origin_country == '{c}')",
    "items.exists(i, i.hs_code.startsWith('{h}') && has(i.unit_price_vnd) "
    "&& i.unit_price_vnd < {p}.0)",
    "declaration.export_country in [{cs}] && declaration.transport_mode == '{m}'",
    "has(declaration.value_vnd) && declaration.value_vnd > {v}.0 "
    "&& trader.compliance_level in ['low', 'medium']",
    "items.filter(i, i.hs_heading in [{hs}]).size() >= 3",
    "declaration.value_vnd / double(declaration.item_count) > {v}.0 && !trader.known",
    "trader.past_violations * 10 + items.size() > {n} && declaration.type == 'import'",
    "declaration.containers.exists(c, c.startsWith('{o}')) && declaration.export_country == '{c}'",
    "items.all(i, i.preferential_claimed) && trader.compliance_level == '{level}'",
    "items.exists(i, i.preferential_claimed && i.origin_country == '{c}' "
    "&& i.hs_subheading.startsWith('{h}'))",
    "intelligence.risk_alerts.exists(a, a.risk_level == '{level}' "
    "&& a.matched.exists(m, m.startsWith('{target}')))",
    "risk.hs.size() + risk.countries.size() >= {k} && !trader.priority",
    "items.exists_one(i, has(i.hs_risk) && i.hs_risk == 'medium') "
    "&& declaration.office == '{office}'",
    "now - timestamp(declaration.submitted_at) > duration('{hours}h') "
    "&& trader.compliance_level == 'low'",
    "items.exists(i, has(i.brand) && i.brand == '{b}' && i.origin_country in [{cs}])",
    "declaration.declarant_tax_code.startsWith('{t}') && declaration.item_count > {n}",
)


def generated_rules(count: int, seed: int = 50) -> list[RuleDefinition]:
    rng = random.Random(seed)
    headings = sorted({c[:4] for c in HS_CODES})
    rules: list[RuleDefinition] = []
    for n in range(count):
        shape = _SHAPES[n % len(_SHAPES)]
        expression = shape.format(
            h=rng.choice(headings),
            c=_country(rng),
            cs=", ".join(f"'{c}'" for c in rng.sample(COUNTRIES, 3)),
            hs=", ".join(f"'{h}'" for h in rng.sample(headings, 4)),
            m=rng.choice(("sea", "air", "road")),
            p=rng.randrange(50, 500) * 1_000,
            v=rng.randrange(2, 40) * 100_000_000,
            n=rng.randrange(20, 45),
            k=rng.randrange(3, 5),
            o=rng.choice(OWNERS),
            office=rng.choice(OFFICES),
            hours=rng.randrange(2, 9),
            b=rng.choice(("Acme", "Northwind", "Contoso")),
            t=f"03000{rng.randrange(10)}",
            level=rng.choice(("low", "medium")),
            target=rng.choice(("route", "container", "trader", "HS heading")),
        )
        rules.append(
            RuleDefinition(
                id=f"gen-{n + 1:02d}",
                name=f"Generated rule {n + 1}",
                expression=expression,
                lane=rng.choice((*(Lane.YELLOW,) * 5, Lane.RED)),
                weight=rng.randrange(5, 40),
                reason=f"Generated rule {n + 1} fired on {{declaration.office}}; saw "
                "{items.hs_code} from {items.origin_country}.",
                author="risk-management@example.vn",
            )
        )
    return rules


def rule_set(generated: int) -> RuleSetDefinition:
    """The built-in rules plus ``generated`` officer-style rules, selection rates set."""
    builtin = definitions.builtin()
    return RuleSetDefinition.model_validate(
        {
            "rules": [
                *(r.model_dump() for r in builtin.rules),
                *(r.model_dump() for r in generated_rules(generated)),
            ],
            "random_selection": {"default": RATES},
            "capacity_targets": builtin.capacity_targets.model_dump(),
        }
    )


def one_rule_set() -> RuleSetDefinition:
    """One rule of the common shape (an ``items.exists`` over reference prices)."""
    builtin = definitions.builtin()
    [rule] = [r for r in builtin.rules if r.id == "valuation-anomaly"]
    return RuleSetDefinition.model_validate(
        {"rules": [rule.model_dump()], "random_selection": {"default": RATES}}
    )
