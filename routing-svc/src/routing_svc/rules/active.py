"""The rule set decisions use: the active version in the database, or the built-in one
until officers activate their own. Compiled once per version and process."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from customs_shared.db import once_per_transaction
from routing_svc.rules import definitions, repository, sample
from routing_svc.rules.definitions import RuleSetDefinition
from routing_svc.rules.engine import CompiledRuleSet

BUILTIN_VERSION = "builtin-2026.11-3"  # -3: rules in CEL, every rule evaluated


def version_label(version: int) -> str:
    return f"rs-{version}"


def compile_definition(label: str, definition: RuleSetDefinition) -> CompiledRuleSet:
    return CompiledRuleSet.compile(label, definition, sample=sample.values())


ACTIVE_RULE_SET = "active_rule_set"


class ActiveRuleSet:
    """Asks the database which version is active (one indexed query) and compiles a
    version only when it changes, so every replica follows an activation at once."""

    def __init__(self) -> None:
        self._builtin = compile_definition(BUILTIN_VERSION, definitions.builtin())
        self._compiled: dict[int, CompiledRuleSet] = {}
        self._lock = asyncio.Lock()

    @property
    def builtin(self) -> CompiledRuleSet:
        return self._builtin

    async def current(self, session: AsyncSession) -> CompiledRuleSet:
        # Once per transaction: a consumer's batch decides all its lanes by one version.
        version = await once_per_transaction(
            session, ACTIVE_RULE_SET, lambda: repository.active_version(session)
        )
        if version is None:
            return self._builtin
        return await self.by_version(session, version)

    async def by_version(self, session: AsyncSession, version: int) -> CompiledRuleSet:
        compiled = self._compiled.get(version)
        if compiled is not None:
            return compiled
        async with self._lock:
            row = await repository.get(session, version)
            if row is None:
                raise LookupError(f"rule set {version} does not exist")
            compiled = compile_definition(
                version_label(version), RuleSetDefinition.model_validate(row.definition)
            )
            self._compiled[version] = compiled
            return compiled
