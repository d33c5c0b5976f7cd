"""Returner: completes, then enters again with the same panel link in a fresh browser and
expects already_completed."""

from loadtest.persona import Move, PageReply, Persona, Take, Uniform, rule


class Returner(Persona):
    name = "returner"
    expects = frozenset({"already_completed"})
    think = Uniform(0.3, 0.7)
    returned = False

    @rule(status="survey_complete", when=lambda self, page: not self.returned)
    def come_back(self, page: PageReply) -> Move:
        self.returned = True
        return Take(query={"transaction_id": self.r.transaction_id}, fresh=True, think_s=self.think.sample(self.rng))

    @rule(status="already_completed", when=lambda self, page: not self.returned)
    def never_completed(self, page: PageReply) -> None:
        self.fail_check("returner_not_completed", "already_completed before ever completing")
        return None
