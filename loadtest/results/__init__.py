"""What a run produces, in one schema for every driver.

- metrics.py: HDR histograms per step, outcome counters per persona, the per-second timeline.
- hdr_record.py: HDR histogram recording in one call (hdrh's record_value without its four Python calls);
  the hot path's histograms record through it.
- hdr_read.py: an HDR histogram's recorded buckets from one copy of its counts array (hdrh's iterator is slow).
- funnel.py: the survey funnel per survey and persona (reached, answered, ended there, validation errors).
- interview.py: length of interview by persona and outcome, beside planned think time (HDR histograms).
- summary.py: summary.json and the console summary; thresholds.py: pass/fail from a summary.
- stage_figures.py: per-stage figures of the load plan (summary.json `stages`, `load_timeline`).
- recording.py: `--record` (requests and replies, secrets redacted).
- run_files.py: the run folder, respondents.jsonl.
- checkpoint.py: a run's figures so far (checkpoint.json, checkpoint-timeline.jsonl), for a run killed outright.
- interruption.py: how summary.json marks a run stopped by SIGINT or SIGTERM, and the exit code it ends with.
- prometheus.py: `--prometheus-port`'s /metrics, read from the run's own Metrics when Prometheus scrapes.
"""
