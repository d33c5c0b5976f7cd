"""Opt-out: arrives through the panel's opt-out link and expects survey_opt_out."""

from loadtest.persona import Persona, Take


class OptOut(Persona):
    name = "opt_out"
    expects = frozenset({"survey_opt_out"})

    def entry(self) -> Take:
        return Take(query={"transaction_id": self.r.transaction_id, "opt_out": "1"})
