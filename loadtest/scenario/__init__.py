"""Scenario files: what to run, against what, how hard, and what counts as passing.

- file.py: the Scenario value and its TOML reader (target, surveys, personas, load, limits,
  thresholds, panel, data check, faults).
- load.py: the [load] table: flat forms and [[load.stages]], the LoadModel and its plan.
- ingest.py: `[[ingest]]` steps (data created through bulk APIs before the live run).
- overrides.py: start-time changes (the Locust web UI's custom parameters, CLI options).
- persona_loader.py: load persona scripts by path, like a locustfile.
"""
