"""QuestionPro v2 on the reference platform.

- respondent_api.py: take, submit-page, previous-page as a pure engine (seeds 000, 001).
- pages.py: a page reply's `response` object; render.py: questions[] entries.
- sessions.py: sessions in memory, rebuilt from the database; tokens.py: the x-survey-token.
- responses_api.py: POST /responses (seed 002); response_object.py: its response object.
"""
