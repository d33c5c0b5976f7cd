"""A run folder without summary.json, from a run killed outright: its report, rebuilt from the
checkpoint it left (results/checkpoint.py) and respondents.jsonl.

The summary is built as the run would have built it, from the checkpoint's figures (at most a few
seconds older than the kill) and the scenario file it names, and is marked interrupted: the run
did not end, so nothing in it is a verdict. What the checkpoint cannot hold is left out: the
panel reconciliation and the data read-back, which only run after the load. respondents.jsonl
may hold a few respondents more than the checkpoint's figures (those that finished after the
last checkpoint) and may end in a torn line (the write a kill cut): both are said.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson

from loadtest.report.render import ReportInputError, write_run_files
from loadtest.results.checkpoint import CHECKPOINT, read_checkpoint
from loadtest.results.interruption import mark_run
from loadtest.results.run_files import read_respondents
from loadtest.results.summary import build_summary
from loadtest.scenario.file import ScenarioError, load_scenario

__all__ = ["recover"]


def recover(run_dir: Path) -> dict[str, Any]:
    """Write summary.json, requests.csv, junit.xml and report.html from the checkpoint; return the summary."""
    path = run_dir / CHECKPOINT
    try:
        doc, metrics = read_checkpoint(run_dir)
    except FileNotFoundError:
        raise ReportInputError(f"{run_dir / 'summary.json'}: expected a run folder's summary.json, or the "
                               f"{CHECKPOINT} a killed run leaves (neither is there)") from None
    except OSError as exc:
        raise ReportInputError(f"{path}: expected a readable checkpoint ({exc.strerror})") from None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ReportInputError(f"{path}: expected a checkpoint written by loadtest ({exc})") from None
    try:
        sc = load_scenario(doc["scenario_file"])
    except (ScenarioError, OSError) as exc:
        raise ReportInputError(f"{path}: scenario_file: expected the run's scenario to be readable "
                               f"({exc})") from None
    sc = dataclasses.replace(sc, seed=doc["seed"])
    log = run_dir / "respondents.jsonl"
    logged, torn = read_respondents(log) if log.is_file() else ([], 0)
    panel = {"callbacks": doc["callbacks"], "reconciliation": None} if doc.get("callbacks") else None
    summary = build_summary(sc, metrics, target=doc["target"], duration_s=doc.get("elapsed_s", 0.0),
                            driver=doc["driver"], limits=doc.get("limits"), panel=panel,
                            extra={"run_dir": str(run_dir), "started": doc.get("started")},
                            respondents=log if log.is_file() else None)
    summary["load"] = doc["load"]  # as the run had it, --respondents / --duration included
    mark_run(summary, {"signal": None, "recovered_from": CHECKPOINT, "checkpoint_written_at": doc["written_at"],
                       "respondents_logged": len(logged), "torn_last_line_bytes": torn})
    write_run_files(run_dir, summary, metrics.timeline_rows())
    return summary
