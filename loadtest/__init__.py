"""loadtest: a load tester and respondent simulator for online-survey APIs.

The folders are the stages of one pipeline; a file is found by asking "which stage?":

    scenario.toml ──► scenario/ ──► persona mix, limits, load model, thresholds
                           │
                 core/  (sans-IO: pages, answers, RespondentFlow, personas, panel signing, limits maths)
                           │  Request / Reply values
          ┌────────────────┼─────────────────┐
       engine/        locust_driver/      replay/        the drivers: thin loops over the core
          │  transport/ (the lean HTTP client)│
          └──────────► target ◄──────────────┘          a real platform, or platform/ (`loadtest mock`)
                           │
       control/ (panel, DIY and data APIs, limiter)   results/ (HDR metrics, summary, thresholds)
                           │
                 checks/ (reconciliation, data check) ──► report/ (HTML, JUnit, CSV, baseline)

Each folder's job:
- core/: the protocols and the respondent's behaviour, with no sockets and no clocks.
- survey/: the survey model and survey-file reader, shared by the platform and the offline walk.
- scenario/: scenario files: load, ingest steps, start-time overrides, persona loading.
- transport/: the Transport seam (`send(Request) -> Reply`) and the hot-path HTTP client.
- engine/: the anyio driver and `loadtest run`'s pipeline; locust_driver/: the Locust driver;
  replay/: `loadtest replay`; explore/: `loadtest explore` (maps a survey, writes a scenario from it).
- control/: control-plane clients both drivers use (httpx): panel, DIY API, data API, limiter.
- results/: what a run produces: metrics, summary.json, thresholds, recording, run files.
- checks/: pure after-run checks; report/: renderers.
- platform/: the reference platform, scaffolding for running and testing without an account.
- cli.py parses and dispatches (each subcommand is `<stage>/command.py`); persona.py is what
  persona scripts import; local_defaults.py holds the embedded platform's local credentials;
  gc_tuning.py is the collector setting both drivers apply to their process; bundled.py finds
  the built-in personas and example scenarios, installed (package data) or in a checkout.

Import rules (tests/unit/test_import_rules.py pins them):
- core imports nothing of loadtest outside core;
- a stage imports only stages below it: core < survey < scenario, transport, checks < results
  < control, report < drivers (engine, locust_driver, replay, explore) < cli;
- only locust_driver imports locust, and nothing imports a driver but cli;
- drivers reach the reference platform only through `platform.embedded` (a server in its own
  process) and `platform.in_process` (its app as a Transport, no socket), plus `local_defaults`;
- the platform imports core, survey, local_defaults and bundled, and nothing of the clients.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
