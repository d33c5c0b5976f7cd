"""The Locust driver: the only package that imports locust (importing it patches the stdlib).

- command.py: `loadtest locust` (runs Locust in a child process with our locustfile).
- ui_defaults.py: what `loadtest locust` adds to Locust's command line from the scenario (users, spawn
  rate, a web UI on 127.0.0.1); options.py: the options the locustfile adds, as data (no locust import).
- locustfile.py: what Locust loads: options, events, the user class.
- user.py: RespondentUser, one respondent after another through the core's flow.
- state.py: what a Locust process keeps for the current test; cluster.py: master/worker sums.
- panel.py, gevent_io.py: the control-plane clients driven by greenlets.
- web_tabs.py: the web UI's Respondents and Limits tabs.
- stopping.py: SIGINT and SIGTERM: one graceful stop, the summary written before Locust sets its exit code.
- live_metrics.py: `--prometheus-port` under Locust (the run folder's owner serves; a master sums its workers).
- shape.py: the LoadTestShape for [[load.stages]]; shape_plan.py: its ticks and arrival slots (no locust).
"""
