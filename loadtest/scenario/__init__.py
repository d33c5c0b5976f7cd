"""Scenario files: what to run, against what, how hard, and what counts as passing.

- file.py: the Scenario value and its TOML reader (target, surveys, personas, load, limits,
  thresholds, panel, data check, faults).
- load.py: the [load] table: flat forms and [[load.stages]], the LoadModel and its plan.
- ingest.py: `[[ingest]]` steps (data created through bulk APIs before the live run).
- overrides.py: start-time changes (the Locust web UI's custom parameters, CLI options).
- tables.py: the smaller tables: thresholds, regression tolerances, the read-back, limits, the panel.
- http_settings.py: extra headers for the target (values from the environment too) and TLS settings.
- persona_loader.py: load persona scripts by path, like a locustfile.
- command.py: `loadtest init` and `loadtest personas`; starter.py: the commented starter project init
  writes; catalog.py: what each persona does, read from the persona classes themselves.
"""
