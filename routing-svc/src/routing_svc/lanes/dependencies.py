"""What endpoints take from the app besides the caller and a session: the lane policy
main.py built (rule sets, seed) and the cursor codec of listings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from customs_shared.pagination import CursorCodec
from routing_svc.lanes.service import LanePolicy


def install(app: FastAPI, policy: LanePolicy, cursors: CursorCodec) -> None:
    """Makes ``policy`` and ``cursors`` the ones every request of ``app`` gets: the
    consumer and the endpoints then decide with the same compiled rule sets."""
    app.state.lane_policy = policy
    app.state.cursors = cursors


async def _policy(request: Request) -> LanePolicy:
    policy: LanePolicy = request.app.state.lane_policy
    return policy


async def _cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


Policy = Annotated[LanePolicy, Depends(_policy)]
Cursors = Annotated[CursorCodec, Depends(_cursors)]
