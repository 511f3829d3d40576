"""Problems the rule-set API answers with."""

from __future__ import annotations

from customs_shared.problems import Conflict, NotFound, UnprocessableContent


class RuleSetNotFound(NotFound):
    slug = "rule-set-not-found"
    title = "Rule set not found"


class RuleRefused(UnprocessableContent):
    """A rule that does not compile, or fails on the documented input. The body names
    the rule (``rule_id``) and carries the compiler's message (``compiler_message``)."""

    slug = "rule-invalid"
    title = "A rule of the rule set is not valid"

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"Rule {rule_id}: {message}", rule_id=rule_id, compiler_message=message)


class ActivationInProgress(Conflict):
    slug = "rule-set-activation-in-progress"
    title = "Another rule set is being activated"


class DryRunTooLarge(UnprocessableContent):
    slug = "dry-run-too-large"
    title = "The dry run asks for more declarations than allowed"
