"""`--record FILE`: every request and reply of every respondent, as JSON lines, secrets redacted.

Session tokens are kept as the opaque strings they are (replay gets fresh ones anyway); API keys
and any other secret the run knows are replaced by "<redacted>" wherever they appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Iterable

import orjson

from loadtest.core.flow import Reply, Request, RespondentResult

__all__ = ["Recorder", "REDACTED"]

REDACTED = "<redacted>"
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
