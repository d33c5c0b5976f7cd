"""Abandoner: drops out after a random number of pages (counted as abandoned, not an error)."""

from loadtest.persona import Abandon, Move, PageReply, Persona, Respondent, Uniform, rule


class Abandoner(Persona):
    name = "abandoner"
    expects = frozenset({"abandoned"})
    think = Uniform(0.3, 0.8)

    def __init__(self, respondent: Respondent) -> None:
        super().__init__(respondent)
        self.stop_after = self.rng.randint(1, int(self.params.get("max_pages", 3)))
        self.pages_done = 0

    def move_lost(self, move: str, page_status: str) -> None:
        if move == "submit":  # that page was never answered
            self.pages_done -= 1
        super().move_lost(move, page_status)

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        if self.pages_done >= self.stop_after:
            return Abandon(f"left after {self.pages_done} pages")
        self.pages_done += 1
        return self.submit(self.fill(page), page)
