"""`loadtest explore`: map a survey from the outside, and write the scenario that reaches every outcome.

Exploring respondents walk the survey through the same RespondentFlow as a run, each with a plan
(persona.py) saying which choice to give to which question; the planner (planner.py) picks the
next plan from what the walks so far have shown (knowledge.py); explorer.py drives the walks over
any Transport within a budget; survey_map.py turns the walks into the map (JSON and a console
tree, which console.py prints) and scenario_writer.py into a scenario. offline.py explores a survey
file on the reference platform in this process (no socket, a virtual clock). command.py is the subcommand.
"""

__all__: list[str] = []
