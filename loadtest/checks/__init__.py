"""Pure after-run checks: lists in, report out.

- reconcile.py: what respondents did against what the panel recorded.
- data_check.py: what respondents submitted against what the platform stored.
"""
