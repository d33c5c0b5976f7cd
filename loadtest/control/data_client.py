"""Read stored respondent records back through the respondent data API (seed 004), for data_check.

    async for survey_id, record in stream_records(base_url, [100001], token):
        ...

Each survey's records come from one `GET /v1/surveys/{id}/respondents/data` with
`Accept: application/x-ndjson` (the stream: no page size limit) and `Authorization: Bearer`.
Timeouts are bounded: connecting, each read between two chunks (`read_s`), and the whole of one
survey's stream (`total_s`, checked as lines arrive). A reply other than 200 raises DataApiError
with the status and the server's message; the token never appears in an error or a log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
import httpx
import orjson

__all__ = ["DataApiError", "fetch_records", "stream_records"]


class DataApiError(RuntimeError):
    """The data API refused or broke off a read (status 0: no HTTP reply, e.g. a timeout)."""

    def __init__(self, survey_id: int, status: int, message: str) -> None:
        super().__init__(f"respondent data of survey {survey_id}: HTTP {status}: {message}")
        self.survey_id = survey_id
        self.status = status


async def stream_records(
    base_url: str,
    survey_ids: Iterable[int],
    token: str,
    *,
    filter_expression: str | None = None,
    variables: Iterable[str] | None = None,
    connect_s: float = 5.0,
    read_s: float = 30.0,
    total_s: float = 300.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Yield (survey id, record) for every stored record of each survey, in respid order."""
    timeout = httpx.Timeout(connect=connect_s, read=read_s, write=read_s, pool=connect_s)
    params: dict[str, str] = {}
    if filter_expression:
        params["filterExpression"] = filter_expression
    if variables is not None:
        params["variables"] = ",".join(variables)
    headers = {"authorization": f"Bearer {token}", "accept": "application/x-ndjson"}
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport) as client:
        for survey_id in survey_ids:
            url = f"/v1/surveys/{survey_id}/respondents/data"
            # The whole-stream bound is checked between lines, not with a cancel scope: a scope
            # must not stay open across the generator's yields (it would cancel the consumer).
            deadline = anyio.current_time() + total_s
            try:
                async with client.stream("GET", url, params=params, headers=headers) as reply:
                    if reply.status_code != 200:
                        await reply.aread()
                        raise DataApiError(survey_id, reply.status_code, _message(reply))
                    async for line in reply.aiter_lines():
                        if anyio.current_time() > deadline:
                            raise DataApiError(survey_id, 0, f"the stream took longer than {total_s:g} s")
                        if line.strip():
                            try:
                                record = orjson.loads(line)
                            except orjson.JSONDecodeError:
                                raise DataApiError(survey_id, reply.status_code,
                                                   "a line of the stream is not JSON") from None
                            yield survey_id, record
            except httpx.TransportError as exc:  # includes httpx's own timeouts
                raise DataApiError(survey_id, 0, f"{type(exc).__name__}: {exc}") from None


async def fetch_records(base_url: str, survey_ids: Iterable[int], token: str, **options: Any
                        ) -> list[tuple[int, dict[str, Any]]]:
    """Every record of the surveys as a list (what data_check.check_data takes)."""
    return [pair async for pair in stream_records(base_url, survey_ids, token, **options)]


def _message(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return reply.text[:200]
