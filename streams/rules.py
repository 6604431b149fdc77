"""What every rule shares: a stable id for what it found, and evidence serialised the same way every time."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from servicepulse.domain.zone import STOCKHOLM

__all__ = ["STOCKHOLM", "evidence", "stable_id"]



def stable_id(*parts: object) -> str:
    """Same inputs, same id: a replayed event yields the same finding or alert, which the sink collapses."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def evidence(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()
