"""Problems the officers' endpoints answer with."""

from __future__ import annotations

from customs_shared.problems import Conflict


class OverrideRefused(Conflict):
    slug = "lane-override-refused"
    title = "The lane cannot be overridden"


class InspectionNotApplicable(Conflict):
    slug = "inspection-not-applicable"
    title = "The declaration is not in a lane that is inspected"


class InspectionAlreadyRecorded(Conflict):
    slug = "inspection-already-recorded"
    title = "Another outcome is recorded for this declaration version"
