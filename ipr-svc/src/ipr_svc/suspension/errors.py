"""Problems the IPR suspensions API answers with."""

from __future__ import annotations

from customs_shared.problems import Conflict, NotFound


class HitNotFound(NotFound):
    slug = "ipr-hit-not-found"
    title = "No such hit in the declaration's IPR screening"


class SuspensionNotFound(NotFound):
    slug = "ipr-suspension-not-found"
    title = "IPR suspension not found"


class SuspensionClosed(Conflict):
    slug = "ipr-suspension-closed"
    title = "The suspension does not allow this step"
