"""The panel's DIY API, as a run uses it: set up a survey and its quotas before, list the
survey's transactions after (for reconciliation). Signed and rate-limited like callbacks."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from loadtest.control.panel_http import PanelHttp
from loadtest.core.panel import Signer

__all__ = ["DiyClient", "DiyError"]

V1 = "/api/external/v1"


class DiyError(RuntimeError):
    """The panel refused a DIY request (its own errors are in the message)."""


@dataclass
class DiyClient:
    base_url: str
    signer: Signer
    api_key: str
    http: PanelHttp

    async def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        body = orjson.dumps(payload) if payload is not None else b""
        url, extra = self.signer.sign(f"{self.base_url.rstrip('/')}{V1}{path}", body)
        headers = {"x-api-key": base64.b64encode(self.api_key.encode()).decode(), **extra}
        if payload is not None:
            headers["content-type"] = "application/json"
        reply, _ = await self.http.request(method, url, headers, body)
        if reply is None:
            raise DiyError(f"{method} {V1}{path}: no reply from the panel")
        try:
            doc = orjson.loads(reply.content) if reply.content else {}
        except orjson.JSONDecodeError:  # a garbled reply (an injected fault, a broken panel)
            raise DiyError(f"{method} {V1}{path}: HTTP {reply.status_code} with a body that is not JSON") from None
        if not isinstance(doc, dict):
            raise DiyError(f"{method} {V1}{path}: HTTP {reply.status_code} with a JSON body that is not an object")
        if reply.status_code >= 300:
            raise DiyError(f"{method} {V1}{path}: HTTP {reply.status_code}: {'; '.join(doc.get('errors', []))}")
        return doc.get("data")

    async def set_up(self, name: str, entry_url: str, quotas: list[dict[str, Any]]) -> str:
        """Create the survey and its quotas, then start it. Returns the panel's survey id."""
        survey = await self.call("POST", "/surveys", {"name": name, "entry_url_prod": entry_url,
                                                      "entry_url_test": entry_url, "quota_mode": "nested"})
        for quota in quotas:
            await self.call("POST", f"/surveys/{survey['id']}/quotas", quota)
        await self.call("POST", f"/surveys/{survey['id']}/start")
        return str(survey["id"])

    async def transactions(self, survey_id: str) -> list[dict[str, Any]]:
        return list(await self.call("POST", f"/surveys/{survey_id}/transactions") or [])
