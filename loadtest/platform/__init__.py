"""The reference survey platform (`loadtest mock`): scaffolding to run and test without an account.

Behaviour only this platform has is an extension: the clients never depend on it.

- app.py: the HTTP surface (one dispatch, RSGI and ASGI adapters); admin.py: /__admin/*.
- server.py: granian in this process; command.py: `loadtest mock`.
- embedded.py: start it in its own process and stop it (what drivers use).
- in_process.py: its app as a Transport, no socket (the offline walk, socket-free tests).
- storage.py: SQLite (WAL); envelopes.py: response bodies; openapi*.py: /openapi.json.
- questionpro/: the respondent API (seeds 000, 001) and POST /responses (002).
- theoremreach/: the panel (seed 003); forsta/: the respondent data API (seed 004).
- rules/: validation, quality checks and quotas, shared by every API that accepts answers.
- faults/: fault plans and the TCP fault proxy.
"""
