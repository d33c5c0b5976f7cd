"""Polyglot: picks one of the offered languages at random; its Faker text follows that language."""

from loadtest.persona import Move, PageReply, Persona, Submit, Uniform, rule


class Polyglot(Persona):
    name = "polyglot"
    expects = frozenset({"survey_complete"})
    think = Uniform(0.3, 0.8)

    @rule(status="language_selection_required")
    def choose_language(self, page: PageReply) -> Move:
        offered = list(page.languages) or ["en"]
        choice = self.rng.choice(offered)
        self.r.language = choice
        self.r.set_language(choice)
        return Submit({"language": choice})
