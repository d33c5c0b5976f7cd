"""`loadtest replay`: walk recorded respondents again against a target and diff what comes back.

script.py reads a recording into per-respondent scripts (pure), diff.py says what a reply showed
and how two differ (pure), driver.py replays scripts over the engine's Transport (async), and
command.py is the CLI's side: target, panel set-up, output, exit code.
"""
