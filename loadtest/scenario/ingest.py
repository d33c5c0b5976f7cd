"""A scenario's `[[ingest]]` tables: data created through the target's bulk APIs before the live run.

    [[ingest]]
    api = "responses"        # or "respondent_data"
    survey = 100001          # default: the scenario's survey_id
    count = 20               # responses (or records) to create, 1..100000
    persona = "completer"    # a [personas.NAME] whose answer rules and pinned answers answer them
                             #   (default: the first persona that takes this survey); its weight
                             #   may be 0, so a persona can exist for ingestion alone
    limit = "ingest"         # optional: the [limits] name every request of the step passes
    concurrency = 4          # optional: requests in flight at once
    batch = 100              # respondent_data only: records per request, 1..10000

Checked here with one-line errors naming the key; run by engine/ingest.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loadtest.core.population import PersonaEntry
from loadtest.core.toml_reader import TomlReader

__all__ = ["INGEST_STEP_NAMES", "IngestStep", "parse_ingest"]

# api -> the step name its requests are reported under (summary.json `requests`, requests.csv)
INGEST_STEP_NAMES = {"responses": "ingest-responses", "respondent_data": "ingest-data"}
MAX_COUNT = 100_000
MAX_BATCH = 10_000
_KEYS = ("api", "survey", "count", "persona", "limit", "concurrency")


@dataclass(frozen=True)
class IngestStep:
    api: str  # "responses" | "respondent_data"
    survey_id: int
    count: int
    persona: str  # a persona entry's name
    limit: str | None = None
    concurrency: int = 4
    batch: int = 100  # respondent_data: records per request

    @property
    def step_name(self) -> str:
        return INGEST_STEP_NAMES[self.api]


def parse_ingest(top: TomlReader, survey_ids: Sequence[int], default_survey: int,
                 personas: Sequence[PersonaEntry], limits: dict[str, float]) -> tuple[IngestStep, ...]:
    steps = []
    for t in top.tables("ingest", required=False):
        t.only((*_KEYS, "batch"))
        api = t.str("api", choices=tuple(INGEST_STEP_NAMES))
        if api != "respondent_data":
            t.only(_KEYS, note=f" for api = {api!r}")
        survey = t.int("survey", default_survey)
        if survey not in survey_ids:
            raise t.fail("survey", f"one of the scenario's survey ids {list(survey_ids)} (got {survey})")
        count = t.int("count", minimum=1)
        if count > MAX_COUNT:
            raise t.fail("count", f"an integer from 1 to {MAX_COUNT} (got {count})")
        names = [p.name for p in personas]
        default = next((p.name for p in personas if p.survey_id == survey), None)
        persona = t.str("persona", default)
        if persona not in names:
            why = f"got {persona!r}" if persona is not None else f"no persona takes survey {survey}, so name one"
            raise t.fail("persona", f"the name of a [personas.NAME] table: {', '.join(names)} ({why})")
        limit = t.str("limit", None)
        if limit is not None and limit not in limits:
            defined = ", ".join(limits) or "none defined"
            raise t.fail("limit", f"the name of a [limits] table ({defined}; got {limit!r})")
        batch = t.int("batch", 100, minimum=1)
        if batch > MAX_BATCH:
            raise t.fail("batch", f"an integer from 1 to {MAX_BATCH} (got {batch})")
        steps.append(IngestStep(api=api, survey_id=survey, count=count, persona=persona, limit=limit,
                                concurrency=t.int("concurrency", 4, minimum=1), batch=batch))
    return tuple(steps)
