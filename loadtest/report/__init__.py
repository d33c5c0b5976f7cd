"""Renderers of a run folder.

- render.py: everything a run folder holds besides respondents.jsonl; command.py: `loadtest report`.
- html_report.py, charts.py, stage_section.py: report.html; junit.py: junit.xml; requests_csv.py: requests.csv.
- compare.py: a run against a baseline.
"""
