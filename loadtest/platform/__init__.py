"""The reference survey platform (`loadtest mock`): scaffolding to run and test without an account.

Behaviour only this platform has is an extension: the clients never depend on it.

- app.py: the HTTP surface (one dispatch, RSGI and ASGI adapters); admin.py: /__admin/*.
- server.py: granian in this process; command.py: `loadtest mock`.
- supervisor.py: `loadtest mock --workers N`, N server processes on one port and one database;
  sharing.py: what they share beyond the rows (run-time configuration, figures, the panel's limit);
  row_stamps.py: each row's newest version in shared memory, so a worker may trust what it holds.
- request_log.py: `loadtest mock --log`, one line per request (keys and bearer tokens never written).
- embedded.py: start it in its own process and stop it (what drivers use).
- in_process.py: its app as a Transport, no socket (the offline walk, socket-free tests).
- body.py: reading a request body under the platform's limits (size, chunked framing, read timeout).
- storage.py: SQLite (WAL); response_row.py: the row it stores and what a write can raise;
  envelopes.py: response bodies.
- openapi.py: /openapi.json; openapi_data.py: its data API (seed 004) paths and schemas; openapi_extra.py:
  the rest (POST /responses, the fault plan, drop-answer, GET /).
- home_page.py: `GET /`, for a client developer: the surveys served, every endpoint, a curl walk.
- questionpro/: the respondent API (seeds 000, 001) and POST /responses (002).
- theoremreach/: the panel (seed 003); forsta/: the respondent data API (seed 004).
- rules/: validation, quality checks and quotas, shared by every API that accepts answers.
- faults/: fault plans and the TCP fault proxy.
"""
