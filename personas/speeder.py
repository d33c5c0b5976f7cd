"""Speeder: answers validly with no think time at all; the platform's speeder rule terminates it."""

from loadtest.persona import Fixed, PageReply, Persona, rule


class Speeder(Persona):
    name = "speeder"
    expects = frozenset({"terminated"})
    think = Fixed(0.0)
    needs_target_rules = ("a speeder quality rule (terminates respondents who answer too fast)",)

    def expected(self, outcome: str) -> bool:
        # Waiting out a lost reply (fault injection, a restarting platform) makes it slow enough
        # to pass the speeder rule: then completing is right too.
        return super().expected(outcome) or (self.waited_s > 0 and outcome == "survey_complete")

    @rule(status="terminated")
    def caught(self, page: PageReply) -> None:
        reason = page.details.get("terminateReason")
        if isinstance(reason, dict) and reason.get("kind") != "quality":
            self.fail_check("speeder_reason", f"terminated, but as {reason}")
        return None
