"""Rule sets: stored only when every rule compiles, activated in one transaction
(the previous active version retired), and tried on recent decisions before that."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.auth import Principal
from customs_shared.db import forget_per_transaction, try_advisory_xact_lock, utcnow
from customs_shared.events.schemas import Lane
from routing_svc.audit import repository as audit
from routing_svc.lanes import repository as lanes
from routing_svc.rules import definitions, engine, repository
from routing_svc.rules.active import (
    ACTIVE_RULE_SET,
    BUILTIN_VERSION,
    compile_definition,
    version_label,
)
from routing_svc.rules.definitions import RuleSetDefinition
from routing_svc.rules.engine import CompiledRuleSet, RuleInvalid
from routing_svc.rules.errors import (
    ActivationInProgress,
    DryRunTooLarge,
    RuleRefused,
    RuleSetNotFound,
)
from routing_svc.rules.models import RuleSet
from routing_svc.rules.schemas import DryRunChange, DryRunLaneShares, DryRunOut

MAX_CHANGES_SHOWN = 200
_ACTIVATION_LOCK = "routing-rule-set-activation"


def _compiled(label: str, definition: RuleSetDefinition) -> CompiledRuleSet:
    try:
        return compile_definition(label, definition)
    except RuleInvalid as exc:
        raise RuleRefused(exc.rule_id, exc.message) from None


def subject(version: int) -> str:
    return f"rule-set/{version}"


async def create(
    session: AsyncSession, principal: Principal, definition: RuleSetDefinition
) -> RuleSet:
    """Stores a draft once every rule compiles; rules without an author are the caller's."""
    rules = [
        r if r.author is not None else r.model_copy(update={"author": principal.subject})
        for r in definition.rules
    ]
    definition = definition.model_copy(update={"rules": rules})
    _compiled("draft", definition)
    row = await repository.insert(
        session, definition.model_dump(mode="json", exclude_none=True), principal.subject
    )
    audit.record(
        session,
        principal,
        "rule-set.created",
        subject(row.version),
        {"version": row.version, "rules": [r.id for r in rules]},
    )
    return row


async def get(session: AsyncSession, version: int, *, lock: bool = False) -> RuleSet:
    row = await repository.get(session, version, lock=lock)
    if row is None:
        raise RuleSetNotFound(f"There is no rule set version {version}.")
    return row


async def page(session: AsyncSession, *, before: int | None, limit: int) -> Sequence[RuleSet]:
    return await repository.page(session, before=before, limit=limit)


@dataclass(frozen=True, slots=True)
class InForce:
    label: str
    row: RuleSet | None  # None: the built-in rule set
    definition: RuleSetDefinition


async def in_force(session: AsyncSession) -> InForce:
    row = await repository.active(session)
    if row is None:
        return InForce(BUILTIN_VERSION, None, definitions.builtin())
    return InForce(
        version_label(row.version), row, RuleSetDefinition.model_validate(row.definition)
    )


async def activate(session: AsyncSession, principal: Principal, version: int) -> RuleSet:
    """Makes ``version`` the active rule set and retires the previous one, in the
    request's transaction. A retired version may be activated again (a rollback)."""
    if not await try_advisory_xact_lock(session, _ACTIVATION_LOCK):
        raise ActivationInProgress("Another activation is under way; try again.")
    row = await get(session, version, lock=True)
    # Compiled again: the documented input may have changed since it was stored.
    _compiled(version_label(version), RuleSetDefinition.model_validate(row.definition))
    previous = await repository.active(session, lock=True)
    if previous is not None and previous.version == version:
        return row  # already active: nothing changes, nothing to audit
    if previous is not None:
        await repository.retire(session, previous)
    row.status = repository.ACTIVE
    forget_per_transaction(session, ACTIVE_RULE_SET)
    row.activated_by = principal.subject
    row.activated_at = utcnow()
    audit.record(
        session,
        principal,
        "rule-set.activated",
        subject(version),
        {
            "version": version,
            "previous": version_label(previous.version) if previous else BUILTIN_VERSION,
            "previous_version": previous.version if previous else None,
        },
    )
    return row


def _shares(counts: Counter[Lane], total: int) -> DryRunLaneShares:
    def share(lane: Lane) -> float:
        return round(counts[lane] / total, 4) if total else 0.0

    return DryRunLaneShares(green=share(Lane.GREEN), yellow=share(Lane.YELLOW), red=share(Lane.RED))


async def dry_run(
    session: AsyncSession, version: int, *, declarations: int, limit: int, seed: bytes
) -> DryRunOut:
    """Replays the most recent decisions under ``version``: each with the input it was
    decided on, at its decision time and with its own random draw, against the lane
    the rules gave it then (before any officer's override)."""
    if declarations > limit:
        raise DryRunTooLarge(f"A dry run replays at most {limit} declarations.")
    row = await get(session, version)
    label = version_label(version)
    candidate = _compiled(label, RuleSetDefinition.model_validate(row.definition))
    before: Counter[Lane] = Counter()
    after: Counter[Lane] = Counter()
    changes: list[DryRunChange] = []
    changed = skipped = 0
    decisions = await lanes.recent_decisions(session, declarations)
    for decision in decisions:
        if not decision.evidence:
            skipped += 1  # decided before inputs were stored: nothing to replay
            continue
        was = Lane(decision.rules_lane or decision.lane)
        values = {**decision.evidence, "now": decision.decided_at}
        verdict = engine.evaluate(
            candidate,
            values,
            now=decision.decided_at,
            draw=engine.random_draw(decision.declaration_id, seed),
            office=decision.office,
        )
        before[was] += 1
        after[verdict.lane] += 1
        if verdict.lane == was:
            continue
        changed += 1
        if len(changes) < MAX_CHANGES_SHOWN:
            changes.append(
                DryRunChange(
                    declaration_id=decision.declaration_id,
                    version=decision.version,
                    office=decision.office,
                    decided_at=decision.decided_at,
                    from_lane=was,
                    to_lane=verdict.lane,
                    rules_fired=verdict.fired,
                )
            )
    total = len(decisions) - skipped
    return DryRunOut(
        rule_set=label,
        declarations=total,
        skipped=skipped,
        changed=changed,
        before=_shares(before, total),
        after=_shares(after, total),
        changes=changes,
        changes_truncated=changed > len(changes),
    )
