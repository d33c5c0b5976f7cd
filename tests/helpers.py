"""Shared test helpers: answers that satisfy the shipped surveys, and a respondent walker over HTTP."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from loadtest.platform.embedded import EmbeddedPlatform, embedded_platform

ROOT = Path(__file__).resolve().parents[1]
SURVEYS = ROOT / "scenarios" / "surveys"
CUSTOMER = SURVEYS / "customer_satisfaction.toml"
STORE_VISIT = SURVEYS / "store_visit.toml"
FIXTURES = ROOT / "tests" / "fixtures"
API_KEY = "loadtest-local-key"
CS_ID, SV_ID = 100001, 200002

# One valid submission per page of customer_satisfaction.toml (a respondent who phoned us,
# so the display-logic page "support" is shown).
CS_PAGES: dict[str, dict[str, Any]] = {
    "screener": {"u_10001": "50001", "u_10002": "50013", "dt_day_10003": "29", "dt_month_10003": "2",
                 "dt_year_10003": "1984"},
    "experience": {"u_10004": "50025", "t_50025": "It depends on the day", "m_10005": ["50031", "50033"],
                   "u_60001": "50043", "u_60002": "50044", "u_60003": "50042", "u_60004": "50045"},
    "support": {"t_50051": "4", "r_50061": "2", "r_50062": "4", "r_50063": "1", "r_50064": "3"},
    "feedback": {"s_50071": "40", "s_50072": "30", "s_50073": "20", "s_50074": "10",
                 "t_50081": "Faster delivery, please"},
    "followup": {"u_10012": "50101"},
}


def survey_variant(src: Path, dest_dir: Path, **replace: str) -> Path:
    """A copy of a survey file with some lines replaced (e.g. a different speeder threshold)."""
    text = src.read_text()
    for old, new in replace.items():
        assert old in text, f"{old!r} not in {src}"
        text = text.replace(old, new)
    out = dest_dir / src.name
    out.write_text(text)
    return out


def no_speeder(dest_dir: Path) -> Path:
    """customer_satisfaction.toml without its speeder rule, so fast test walks can complete."""
    return survey_variant(CUSTOMER, dest_dir, **{"speeder_min_seconds = 3.0": ""})


@dataclass
class Reply:
    http_status: int
    body: dict[str, Any]
    token: str | None

    @property
    def status(self) -> str:
        return self.body.get("response", {}).get("status", "")

    @property
    def response(self) -> dict[str, Any]:
        return self.body.get("response", {})

    def questions(self) -> list[dict[str, Any]]:
        """questions[].json as objects, whichever form the survey serves them in."""
        out = []
        for entry in self.response.get("questions", []):
            j = entry["json"]
            out.append(orjson.loads(j) if isinstance(j, str) else j)
        return out


@dataclass
class Walker:
    """One respondent over HTTP: echoes the latest x-survey-token on every call."""

    client: httpx.Client
    survey_id: int
    token: str | None = None
    api_key: str = API_KEY
    history: list[Reply] = field(default_factory=list)

    def _url(self, step: str) -> str:
        return f"/a/api/v2/surveys/{self.survey_id}/{step}"

    def _headers(self) -> dict[str, str]:
        h = {"api-key": self.api_key, "accept": "application/json"}
        if self.token:
            h["x-survey-token"] = self.token
        return h

    def _keep(self, r: httpx.Response) -> Reply:
        reply = Reply(r.status_code, r.json(), r.headers.get("x-survey-token"))
        if reply.token:
            self.token = reply.token
        self.history.append(reply)
        return reply

    def take(self, **query: str) -> Reply:
        return self._keep(self.client.get(self._url("take"), params=query, headers=self._headers()))

    def submit(self, form: dict[str, Any]) -> Reply:
        return self._keep(self.client.post(self._url("submit-page"), content=orjson.dumps(form),
                                           headers={**self._headers(), "content-type": "application/json"}))

    def previous(self) -> Reply:
        return self._keep(self.client.get(self._url("previous-page"), headers=self._headers()))


MockServer = EmbeddedPlatform


def running_mock(*surveys: Path, db: Path, port: int = 0, env: dict[str, str] | None = None,
                 extra: tuple[str, ...] = ()) -> contextlib.AbstractContextManager[EmbeddedPlatform]:
    """`loadtest mock` in a subprocess, ready when it prints its URL, stopped by PID."""
    return embedded_platform(surveys, db=db, port=port, env=env, extra=extra, cwd=ROOT)
