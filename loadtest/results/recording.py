"""`--record FILE`: every request and reply of every respondent, as JSON lines, secrets redacted.

Session tokens are kept as the opaque strings they are (replay gets fresh ones anyway); API keys
and any other secret the run knows are replaced by "<redacted>" wherever they appear.

The first line is a header (`{"recording": "loadtest", "version": 1, ...}`) naming the scenario,
its seed, the target's base URL, the environment variable of the API key, and each survey's id
and file, so that `loadtest replay` can serve the same surveys again. Every other line is one
request of one respondent with its reply (or the error that stood in for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from loadtest.core.flow import Reply, Request, RespondentResult

__all__ = ["FORMAT", "REDACTED", "VERSION", "Recorder"]

REDACTED = "<redacted>"
FORMAT, VERSION = "loadtest", 1
_SECRET_HEADERS = {"api-key", "x-api-key", "authorization", "cookie"}


class Recorder:
    def __init__(self, path: Path, secrets: Iterable[str]) -> None:
        self.path = path
        self._secrets = [s for s in secrets if s]
        self._file: IO[bytes] = path.open("wb")

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def header(self, scenario: Path, seed: int, target_url: str, api_key_env: str,
               surveys: Iterable[tuple[int, Path]]) -> None:
        """The first line: what replay needs to know to serve the same surveys and compare."""
        doc: dict[str, Any] = {
            "recording": FORMAT, "version": VERSION, "scenario": str(scenario.resolve()), "seed": seed,
            "target_url": self._clean(target_url), "api_key_env": api_key_env,
            "surveys": [{"id": sid, "file": str(path)} for sid, path in surveys],
        }
        self._file.write(orjson.dumps(doc) + b"\n")

    def __call__(self, result: RespondentResult, request: Request, reply: Reply | None,
                 error: BaseException | None) -> None:
        doc = {
            "respondent": result.index,
            "persona": result.persona,
            "seed": result.seed,
            "survey_id": result.survey_id,
            "step": request.step,
            "method": request.method,
            "url": self._clean(request.url),
            "headers": {k: (REDACTED if k in _SECRET_HEADERS else self._clean(v)) for k, v in request.headers},
            "body": self._clean(request.body.decode("utf-8", "replace")),
            "think_s": round(request.think_s, 4),
        }
        if reply is not None:
            doc["reply"] = {
                "status": reply.status,
                "token": reply.headers.get("x-survey-token"),
                "body": self._clean(reply.body.decode("utf-8", "replace")),
                "elapsed_ms": round(reply.elapsed_s * 1000, 3),
            }
        else:
            doc["error"] = self._clean(f"{type(error).__name__}: {error}")
        self._file.write(orjson.dumps(doc) + b"\n")

    def close(self) -> None:
        self._file.close()
