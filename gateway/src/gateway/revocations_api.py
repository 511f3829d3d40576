"""``POST /api/v1/token-revocations``: an admin revokes one token (by ``jti``) or every
token a client holds now; published on the compacted revocation topic that every
service's token verifier follows (:mod:`customs_shared.revocation`)."""

from __future__ import annotations

import logging
from typing import Annotated, Self

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from customs_shared.auth import ADMINS, Principal, Scope, allow
from customs_shared.problems import Forbidden, Unauthorized, problem_responses
from customs_shared.revocation import Revocation, RevocationKind
from gateway.errors import KafkaUnavailable
from gateway.state import Publisher

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/token-revocations", tags=["oauth"])

Admin = Annotated[Principal, allow(Scope.ADMIN, ADMINS)]


class RevocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jti: str | None = Field(default=None, min_length=1, max_length=200)
    client_id: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.jti is None) == (self.client_id is None):
            raise ValueError("give either jti or client_id")
        return self


@router.post(
    "",
    status_code=202,
    summary="Revoke one access token (jti) or every token a client holds now.",
    response_model=Revocation,
    responses=problem_responses(Unauthorized, Forbidden, KafkaUnavailable),
)
async def revoke(body: RevocationRequest, admin: Admin, publisher: Publisher) -> JSONResponse:
    if body.jti is not None:
        kind, value = RevocationKind.TOKEN, body.jti
    else:
        kind, value = RevocationKind.CLIENT, str(body.client_id)
    revocation = await publisher.revoke(kind, value, body.reason)
    log.warning(
        "token revocation published",
        extra={"revocation": revocation.key, "by": admin.subject},
    )
    return JSONResponse(revocation.model_dump(mode="json"), status_code=202)
