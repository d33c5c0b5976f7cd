"""Abandoner: drops out after a random number of pages (counted as abandoned, not an error)."""

from loadtest.persona import Abandon, Move, PageReply, Param, Persona, Respondent, Uniform, rule


class Abandoner(Persona):
    name = "abandoner"
    expects = frozenset({"abandoned"})
    think = Uniform(0.3, 0.8)
    parameters = {"max_pages": Param(int, 3, "leaves after 1..max_pages answered pages (drawn per respondent)")}

    def __init__(self, respondent: Respondent) -> None:
        super().__init__(respondent)
        self.stop_after = self.rng.randint(1, max(1, int(self.param("max_pages"))))
        self.pages_done = 0

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        # The page says it is the last one: leave now, or the survey would be complete.
        if self.pages_done >= self.stop_after or page.is_final:
            return Abandon(f"left after {self.pages_done} pages")
        self.pages_done += 1
        return self.submit(self.fill(page), page)
