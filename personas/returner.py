"""Returner: completes, then enters again with the same panel link in a fresh browser and
expects already_completed."""

from loadtest.persona import Move, PageReply, Persona, Take, Uniform, rule


class Returner(Persona):
    name = "returner"
    expects = frozenset({"already_completed"})
    think = Uniform(0.3, 0.7)
    returned = False

    def not_back_yet(self, page: PageReply) -> bool:
        return not self.returned

    @rule(status="survey_complete", when="not_back_yet")
    def come_back(self, page: PageReply) -> Move:
        self.returned = True
        return Take(query={"transaction_id": self.r.transaction_id}, fresh=True, think_s=self.pause())

    @rule(status="already_completed", when="not_back_yet")
    def never_completed(self, page: PageReply) -> None:
        self.fail_check("returner_not_completed", "already_completed before ever completing")
        return None
