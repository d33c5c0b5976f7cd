"""Control-plane clients both drivers use (httpx, low volume, rate-limited).

- panel_http.py: signed, rate-limited, retrying HTTP to a panel; panel_client.py: completion
  callbacks; diy_client.py: the panel's DIY API; panel_session.py: all of a run's panel work.
- limiter.py: named rate limits shared by every request of a group.
- preflight.py: one take (and one DIY API call) before any load; each problem is one line naming what to fix.
- data_client.py: the respondent data API (seed 004); readback.py: after-run read-back.
- fault_journal.py: what the reference platform says it injected (an extension it alone has).
"""
