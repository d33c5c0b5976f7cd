"""The anyio engine: `loadtest run`, headless, fast, seeded.

- command.py: `loadtest run`'s arguments; pipeline.py: the whole run, from scenario to run
  folder (platform, panel set-up, ingestion, the load, read-back, reports, exit code).
- run.py: EngineRun, respondents through their flows under a load model, over a Transport.
- ingest.py: `[[ingest]]` steps; offline_walk.py: the answers they send, walked in process.
- progress.py: the progress bar (a line every few seconds when not on a terminal).
- event_loop.py: uvloop where installed (LOADTEST_EVENT_LOOP=asyncio for asyncio's own loop).
- stopping.py: SIGINT and SIGTERM: the first stops gracefully and reports, a second cancels what is in flight.
- checkpoints.py: the run's figures beside respondents.jsonl every CHECKPOINT_S, for a run killed outright.
"""
