"""The core: sans-IO protocol and behaviour. No sockets, no clocks, no threads; values in, values out.

- page.py: parse respondent-API replies (seeds 000, 001) into frozen Page and Question values.
- answers.py: build submit-page bodies from formParam rules alone; read echoed answers back.
- flow.py: RespondentFlow, one respondent's walk as a state machine; flow_machine.py: its states,
  inputs and TRANSITIONS table; flow_values.py: the requests, replies, events and result it trades.
- retry.py: how long to wait before sending again (Retry-After in both forms, jittered back-off).
- persona.py: the Persona API: rules with preconditions, moves, think times, declared parameters.
- population.py: who respondent number i is (persona, seed, generator), deterministically.
- rng.py: RespondentRandom, a respondent's small seeded generator; fake.py: Faker text from it.
- panel.py: panel result codes and request signing (seed 003, pluggable algorithms).
- limits.py: token-bucket maths for named request-rate limits (time passed in).
- stages.py: load plans: a stage table's target at t, its integral, uniform and seeded poisson arrivals.
- response_set.py: ingestion payloads (seed 002 response sets, seed 004 records).
- errors.py: errors typed by blame (the Blame enum); usage.py: BadInput, the exit-2 error.
- toml_reader.py: checked reading of parsed TOML with the dotted key path in every message.
"""
