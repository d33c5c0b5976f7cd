"""Renderers of a run folder.

- render.py: everything a run folder holds besides respondents.jsonl; command.py: `loadtest report`.
- html_report.py, charts.py, stage_section.py: report.html; junit.py: junit.xml; requests_csv.py: requests.csv.
- sections.py: report.html's survey-QA sections (settings, requests, personas, funnel, length of interview);
  survey_charts.py: their plotly charts (page funnel, length of interview) and per-second rows thinned for drawing.
- plotly_bundle.py: the partial plotly.js bundle report.html inlines; `check_traces` refuses traces it lacks.
- recover.py: the report of a run killed outright (no summary.json), rebuilt from its checkpoint.
- compare.py: a run against a baseline.
"""
