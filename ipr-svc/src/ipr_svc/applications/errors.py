"""Problems the IPR applications API answers with."""

from __future__ import annotations

from customs_shared.problems import Conflict, NotFound, UnprocessableContent


class ApplicationNotFound(NotFound):
    slug = "ipr-application-not-found"
    title = "IPR application not found"


class RightExpired(UnprocessableContent):
    slug = "ipr-right-expired"
    title = "The right's protection term has ended"


class WrongStatus(Conflict):
    slug = "ipr-application-wrong-status"
    title = "The application is not in a state that allows this decision"


class RenewalTooLate(UnprocessableContent):
    slug = "ipr-renewal-too-late"
    title = "A renewal is filed at least 20 days before the validity ends"


class ApplicantNotEnterprise(UnprocessableContent):
    slug = "ipr-applicant-not-enterprise"
    title = "An enterprise applicant's tenant must be its tax code"
