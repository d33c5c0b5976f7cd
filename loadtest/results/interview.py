"""Length of interview: each respondent's time from its first take to its outcome, beside the
think time its persona planned, by persona and outcome, in mergeable HDR histograms.

Survey people read a run by how long an interview took: a complete far shorter than the survey
can be read is a speeder, and a target's speeder rule terminates it. Both drivers hand in the
same timings they log per respondent (duration_s, think_s); think_s counts every wait the flow
asked for, so the time the target made it wait out 429s (throttled_s) is taken off again, to
leave what the persona planned. Milliseconds, 3 significant digits, up to a week.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from loadtest.core.flow_values import RespondentResult
from loadtest.results.hdr_record import record
from loadtest.survey.model import Survey

__all__ = ["InterviewLengths", "interview_summary"]

LOWEST_MS, HIGHEST_MS, DIGITS = 1, 7 * 86_400_000, 3
PERCENTILES = (50, 90, 99)


def _histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_MS, HIGHEST_MS, DIGITS)


def _ms(seconds: float) -> int:
    """Whole milliseconds, held to the histograms' range (min/max calls cost more than this)."""
    ms = round(seconds * 1000)
    return 0 if ms < 0 else HIGHEST_MS if ms > HIGHEST_MS else ms


class InterviewLengths:
    def __init__(self) -> None:
        # (persona, outcome) -> [length histogram, planned think histogram]
        self.cells: dict[tuple[str, str], list[HdrHistogram]] = {}

    def _pair(self, persona: str, outcome: str) -> list[HdrHistogram]:
        pair = self.cells.get((persona, outcome))
        if pair is None:
            pair = self.cells[(persona, outcome)] = [_histogram(), _histogram()]
        return pair

    def record(self, result: RespondentResult, timings: dict[str, float]) -> None:
        length, think = self._pair(result.persona, result.outcome or "incomplete")
        record(length, _ms(timings.get("duration_s", 0.0)))
        record(think, _ms(timings.get("think_s", 0.0) - result.throttled_s))

    # --- between processes --------------------------------------------------------------------
    def export(self) -> list[list[Any]]:
        return [[persona, outcome, length.encode(), think.encode()]
                for (persona, outcome), (length, think) in self.cells.items()]

    def absorb(self, data: list[list[Any]]) -> None:
        for persona, outcome, length, think in data:
            pair = self._pair(persona, outcome)
            pair[0].add(HdrHistogram.decode(length))
            pair[1].add(HdrHistogram.decode(think))


def _seconds(hist: HdrHistogram) -> dict[str, Any]:
    n = hist.get_total_count()
    out: dict[str, Any] = {"count": n}
    values = hist.get_percentile_to_value_dict(list(PERCENTILES)) if n else {}  # one pass over the counts
    for p in PERCENTILES:
        out[f"p{p}_s"] = round(values[p] / 1000, 3) if n else 0.0
    out["max_s"] = round(hist.get_max_value() / 1000, 3) if n else 0.0
    return out


def _figures(pairs: list[list[HdrHistogram]]) -> dict[str, Any]:
    length, think = _histogram(), _histogram()
    for a, b in pairs:
        length.add(a)
        think.add(b)
    return {**_seconds(length), "planned_think": {k: v for k, v in _seconds(think).items() if k != "count"},
            "histogram": length.encode().decode()}


def interview_summary(lengths: InterviewLengths, surveys: tuple[Survey, ...] = (),
                      target_is_embedded: bool = False) -> dict[str, Any]:
    """summary.json's `interview`: seconds, by outcome, by persona and by both, each with the
    planned think time's percentiles and the encoded length histogram (the report draws it).
    `speeder_min_seconds` is each survey's speeder rule, known only of the embedded platform."""
    outcomes = sorted({o for _, o in lengths.cells})
    personas = sorted({p for p, _ in lengths.cells})
    by_both: dict[str, dict[str, Any]] = {}
    for (persona, outcome), pair in sorted(lengths.cells.items()):
        figures = _figures([pair])
        figures.pop("histogram")
        by_both.setdefault(persona, {})[outcome] = figures
    speeder = {str(s.id): s.quality.speeder_min_seconds for s in surveys
               if target_is_embedded and s.quality.speeder_min_seconds is not None}
    return {
        "unit": "s",
        "by_outcome": {o: _figures([pair for (_, oo), pair in lengths.cells.items() if oo == o]) for o in outcomes},
        "by_persona": {p: {k: v for k, v in _figures([pair for (pp, _), pair in lengths.cells.items() if pp == p])
                           .items() if k != "histogram"} for p in personas},
        "by_persona_outcome": by_both,
        "speeder_min_seconds": speeder,
    }
