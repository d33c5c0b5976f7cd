"""What the reference platform says it injected during a run (GET /__admin/faults), for the
summary: a reset or a hang carries no tag a client could see, so the platform's own count is how
a report tells connection faults it provoked from failures it did not."""

from __future__ import annotations

import os
from typing import Any

import httpx

__all__ = ["fault_journal"]


async def fault_journal(base_url: str, admin_token_env: str = "LOADTEST_ADMIN_TOKEN") -> dict[str, Any] | None:
    token = os.environ.get(admin_token_env)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            reply = await client.get("/__admin/faults", headers=headers)
    except httpx.HTTPError:
        return None
    if reply.status_code != 200:
        return None
    try:
        injected = reply.json().get("injected")
    except ValueError:  # a platform that garbles even this is not one to report on
        return None
    return dict(injected) if isinstance(injected, dict) else None
