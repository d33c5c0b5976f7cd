"""`loadtest init [DIR]`: a commented starter project, written without ever overwriting a file.

Without a target: `scenario.toml` and `surveys/starter.toml`, a small survey with a screener, a
quota cell and both quality rules, that pass against the embedded platform as written. With
`--target URL --survey-id N`: a scenario for that survey on that platform, naming the variable
that holds the API key, explaining what `[answers]` a screener and a quota need, and limited to
QuestionPro's documented 300 calls per 60 s per key.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["StarterError", "write_starter"]


class StarterError(ValueError):
    """A starter that cannot be written; str() is one line."""


SURVEY = '''\
# A small survey for the embedded platform (`loadtest mock`, or `loadtest run` with target =
# "embedded"): a screener, a quota cell, both quality rules, a question a validation fixer can
# break. Question, answer and row ids share one namespace: they become form keys (u_10001, t_50031).
# Every key: see "Survey files" in the README.

[survey]
id = {survey_id}
title = "Starter survey"

[quality]
speeder_min_seconds = 1.0     # a complete faster than this is terminated (the speeder persona)
straightline_min_rows = 3     # all rows of a checked grid in one column is terminated (the straightliner)

[[quotas]]
id = "weekly"                 # the quota_chaser persona fills this cell; later chasers get quota_full
question = 10002
answers = [50012]
limit = 5

[[pages]]
id = "screener"

[[pages.questions]]
id = 10001
type = "single"
text = "Have you used our product in the last month?"
answers = [
  {{ id = 50001, text = "Yes" }},
  {{ id = 50002, text = "No", terminate = true }},   # terminates: the screenout persona answers this
]

[[pages.questions]]
id = 10002
type = "single"
text = "How often do you use it?"
answers = [
  {{ id = 50011, text = "Daily" }},
  {{ id = 50012, text = "Weekly" }},
  {{ id = 50013, text = "Less often" }},
]

[[pages]]
id = "opinion"

[[pages.questions]]
id = 10003
type = "grid"
text = "How do you rate us on..."
straightline_check = true
rows = [
  {{ id = 60001, text = "Price" }},
  {{ id = 60002, text = "Quality" }},
  {{ id = 60003, text = "Support" }},
]
answers = [
  {{ id = 50021, text = "Poor" }},
  {{ id = 50022, text = "Fair" }},
  {{ id = 50023, text = "Good" }},
  {{ id = 50024, text = "Excellent" }},
]

[[pages.questions]]
id = 10004
type = "numeric"
text = "How likely are you to recommend us (0-10)?"
answer_id = 50031
min = 0
max = 10
integer = true

[[pages]]
id = "feedback"

[[pages.questions]]
id = 10005
type = "text"
text = "What should we improve?"
answer_id = 50041
min_length = 3
max_length = 200
'''

EMBEDDED = '''\
# A starter scenario: `loadtest run {scenario}` starts the reference platform on a free
# loopback port serving surveys/starter.toml, sends {respondents} respondents through it and
# exits 0 when every threshold holds. `loadtest personas` lists what each persona does.
# Every key: see "Running load" in the README; a misspelt key is an error, never ignored.

[scenario]
name = "starter"
seed = 1                             # the same seed gives the same respondents
target = "embedded"                  # or the base URL of your platform (see `loadtest init --target`)
surveys = ["surveys/starter.toml"]   # what the embedded platform serves (relative to this file)
survey_id = {survey_id}

[load]
model = "closed"
concurrency = 10                     # respondents in flight at once (`loadtest run -u N` overrides)
respondents = {respondents}
duration_s = 120                     # a cap on starting new respondents

# Answers every persona gives unless its own table says otherwise (question id = answer id):
# the screener answer that qualifies, and an answer outside the quota cell, so that only the
# quota chasers can fill it (a completer in a full cell would get quota_full: unexpected).
[answers]
10001 = "50001"
10002 = "50013"

[personas.completer]
weight = 5

[personas.screenout]
weight = 1
answers = {{ 10001 = "50002" }}        # "No": screened out

[personas.quota_chaser]
weight = 2
answers = {{ 10002 = "50012" }}        # the "weekly" cell (limit 5)

[personas.speeder]                   # terminated by the survey's speeder rule
weight = 1

[personas.straightliner]             # terminated by the straight-lining rule
weight = 1

[personas.backtracker]
weight = 1

[personas.validation_fixer]
weight = 1

[thresholds]
error_ratio = 0.0                    # no failed request
unexpected = 0                       # every respondent ends as its persona expects

[thresholds.p95_ms]
take = 500
submit-page = 500
'''

REMOTE = '''\
# A scenario for survey {survey_id} on {target}.
#
# 1. Put the API key in the environment variable named below (never in this file):
#        export {key_env}=...
# 2. Fill in [answers] for your survey (see below), and adjust the persona mix.
# 3. Check the target without load: `loadtest run {scenario} -u 1 --respondents 1`
#    (every run first makes one take against the target and ends with one line if it fails).
# 4. Run it: `loadtest run {scenario}`; the report is reports/<run-id>/report.html.
# `loadtest personas` lists every persona; a misspelt key is an error, never ignored.

[scenario]
name = "{name}"
target = "{target}"
survey_id = {survey_id}               # the survey on the target; no survey file is needed
api_key_env = "{key_env}"      # the variable holding the api-key
request_timeout_s = 10
follow_redirects = []                # redirectUrl hosts a respondent may request; "target" = the target's host
# transaction_prefix = "qa-"         # default: lt<seed>-<random run id>, new for every run

[load]
model = "closed"
concurrency = 2                      # start small; `loadtest run -u N` overrides
respondents = 20
duration_s = 300

# QuestionPro allows 300 calls per 60 s per API key (2,400 per organisation) and answers 429
# beyond. Every respondent-flow request waits for this limit: 4.5 a second stays under 300 a minute.
[limits]
survey = {{ rate = 4.5 }}

# Answers every persona gives unless its own table says otherwise: question id = answer id.
# - A screener: pin the answer that qualifies, or completers are terminated (unexpected).
# - A quota: pin an answer outside every quota cell, so that only quota chasers fill one.
# Find the ids in the survey's take reply (questions[].json: id, answers[].id).
[answers]
# 10001 = "50001"                    # e.g. the screener's qualifying answer

[personas.completer]
weight = 8

# A screenout needs the disqualifying answer, a quota chaser the answer of a quota cell:
# [personas.screenout]
# weight = 1
# answers = {{ 10001 = "50002" }}
#
# [personas.quota_chaser]
# weight = 1
# answers = {{ 10002 = "50012" }}
#
# The speeder and the straightliner expect to be terminated: only if the survey has those
# quality rules (see `loadtest personas`).

[thresholds]
error_ratio = 0.01
unexpected = 0

[thresholds.p95_ms]
take = 1000
submit-page = 1000
'''


def _name(target: str) -> str:
    host = target.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return "".join(c if c.isalnum() else "-" for c in host).strip("-") or "target"


def write_starter(folder: Path, target: str | None = None, survey_id: int | None = None,
                  key_env: str = "LOADTEST_API_KEY") -> list[Path]:
    """Write the starter files into `folder` (made if missing); refuse before writing any if one exists."""
    scenario = folder / "scenario.toml"
    if target is None:
        sid = survey_id or 500001
        files = {scenario: EMBEDDED.format(scenario=scenario, respondents=40, survey_id=sid),
                 folder / "surveys" / "starter.toml": SURVEY.format(survey_id=sid)}
    else:
        if survey_id is None:
            raise StarterError("loadtest init: --survey-id: expected the id of the survey on the target "
                               "(with --target)")
        files = {scenario: REMOTE.format(scenario=scenario, target=target, survey_id=survey_id, name=_name(target),
                                         key_env=key_env)}
    for path in files:
        if path.exists():
            raise StarterError(f"{path}: expected no file there (init never overwrites one; pick another folder "
                               "or move it away)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as f:  # "x": even a file made meanwhile is never overwritten
            f.write(text)
    return list(files)
