"""The Locust driver: the only package that imports locust (importing it patches the stdlib).

- command.py: `loadtest locust` (runs Locust in a child process with our locustfile).
- locustfile.py: what Locust loads: options, events, the user class.
- user.py: RespondentUser, one respondent after another through the core's flow.
- state.py: what a Locust process keeps for the current test; cluster.py: master/worker sums.
- panel.py, gevent_io.py: the control-plane clients driven by greenlets.
- web_tabs.py: the web UI's Respondents and Limits tabs.
- shape.py: the LoadTestShape for [[load.stages]]; shape_plan.py: its ticks and arrival slots (no locust).
"""
