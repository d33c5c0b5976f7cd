"""Answer rules shared by every platform API that accepts answers.

- validation.py: one page's answers against its questions; quality.py: speeding and
  straight-lining; quotas.py: which cells a respondent falls in, and whether one is full.
"""
