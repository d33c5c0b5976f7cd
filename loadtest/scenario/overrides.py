"""Changes to a scenario made at start time (the Locust web UI's custom parameters, or the same
options on the command line): the persona mix, the limits and the survey. Pure: text in,
Scenario out, one-line errors naming the option.

    personas  "completer=10, screenout=2"   weights by persona name; a persona not named keeps its weight
    limits    "panel=10, survey=50"         requests per second by limit name; 0 removes a limit
                                            (to watch the target's own 429s)
    survey_id "200002"                      the survey personas without a survey of their own take
"""

from __future__ import annotations

import dataclasses

from loadtest.scenario.file import Scenario

__all__ = ["OverrideError", "apply_overrides", "limits_text", "mix_text"]


class OverrideError(ValueError):
    """A start-time parameter that cannot be applied; str() is one line naming the option."""


def mix_text(sc: Scenario) -> str:
    return ", ".join(f"{p.name}={p.weight}" for p in sc.personas)


def limits_text(sc: Scenario) -> str:
    return ", ".join(f"{name}={rate:g}" for name, rate in sc.limits.items())


def _pairs(option: str, text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or not name.strip() or number < 0:
            raise OverrideError(f"--{option}: expected name=number pairs separated by commas (got {part.strip()!r})")
        out[name.strip()] = number
    return out


def apply_overrides(sc: Scenario, personas: str = "", limits: str = "", survey_id: str = "") -> Scenario:
    if survey_id.strip():
        ids = [s.id for s in sc.surveys]
        try:
            new_id = int(survey_id)
        except ValueError:
            new_id = -1
        if (ids and new_id not in ids) or new_id < 1:  # no survey files (a URL target): any survey id
            raise OverrideError(f"--survey-id: expected one of the scenario's surveys {ids} (got {survey_id!r})"
                                if ids else f"--survey-id: expected a survey id (got {survey_id!r})")
        entries = tuple(dataclasses.replace(p, survey_id=new_id) if p.survey_id == sc.survey_id else p
                        for p in sc.personas)
        sc = dataclasses.replace(sc, survey_id=new_id, personas=entries)
    if personas.strip():
        weights = _pairs("personas", personas)
        known = {p.name for p in sc.personas}
        unknown = sorted(set(weights) - known)
        if unknown:
            raise OverrideError(f"--personas: no persona named {', '.join(unknown)} in the scenario "
                                f"(it has {', '.join(sorted(known))})")
        if any(w != int(w) for w in weights.values()):
            raise OverrideError("--personas: expected whole-number weights")
        entries = tuple(dataclasses.replace(p, weight=int(weights.get(p.name, p.weight))) for p in sc.personas)
        if not any(p.weight > 0 for p in entries):
            raise OverrideError("--personas: expected at least one persona with weight > 0")
        sc = dataclasses.replace(sc, personas=entries)
    if limits.strip():
        rates = {**sc.limits, **_pairs("limits", limits)}
        sc = dataclasses.replace(sc, limits={name: rate for name, rate in rates.items() if rate > 0})
    return sc
