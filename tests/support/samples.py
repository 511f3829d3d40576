from __future__ import annotations

import base64
import copy
import json
from typing import Any

from deploy.local.cluster import REPO

SAMPLES = REPO / "samples"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text()))


def signed(body: dict[str, Any]) -> dict[str, Any]:
    """The body with a detached signature attached (verified only from the signature issue on)."""
    result = copy.deepcopy(body)
    result["signature"] = base64.b64encode(b"0\x82detached-cms-placeholder").decode()
    return result
