"""What a run produces, in one schema for every driver.

- metrics.py: HDR histograms per step, outcome counters per persona, the per-second timeline.
- summary.py: summary.json and the console summary; thresholds.py: pass/fail from a summary.
- stage_figures.py: per-stage figures of the load plan (summary.json `stages`, `load_timeline`).
- recording.py: `--record` (requests and replies, secrets redacted).
- run_files.py: the run folder, respondents.jsonl.
"""
