"""Screenout: gives the screener answer the scenario names (params `answers`) and is terminated."""

from loadtest.persona import PageReply, Persona, Uniform, rule


class Screenout(Persona):
    name = "screenout"
    expects = frozenset({"terminated"})
    requires = ("answers",)
    think = Uniform(0.2, 0.6)

    @rule(status="terminated")
    def screened_out(self, page: PageReply) -> None:
        reason = page.details.get("terminateReason")
        if isinstance(reason, dict) and reason.get("kind") != "screener":
            self.fail_check("screenout_reason", f"terminated, but as {reason}")
        return None  # terminal: the outcome stands
