"""Straightliner: answers every grid row with the same column; the quality check terminates it."""

from loadtest.persona import Move, PageReply, Persona, Uniform, rule


class Straightliner(Persona):
    name = "straightliner"
    expects = frozenset({"terminated"})
    think = Uniform(0.2, 0.5)
    needs_target_rules = ("a straight-lining quality rule on a grid question",)

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        return self.submit(self.fill(page, straightline=True), page)

    @rule(status="terminated")
    def caught(self, page: PageReply) -> None:
        reason = page.details.get("terminateReason")
        if isinstance(reason, dict) and reason.get("kind") != "quality":
            self.fail_check("straightliner_reason", f"terminated, but as {reason}")
        return None
