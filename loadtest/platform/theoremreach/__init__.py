"""The panel on the reference platform (TheoremReach DIY subset, seed 003).

- panel_api.py: DIY API and callbacks, HTTP-agnostic; store.py: its SQLite tables;
  link.py: what the panel needs of the respondent side.
"""
