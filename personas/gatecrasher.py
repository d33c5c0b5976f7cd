"""Gatecrasher: tries a wrong password first (it must be refused), then the right one (params
`password`), then completes."""

from loadtest.persona import Move, PageReply, Persona, Submit, Uniform, rule


class Gatecrasher(Persona):
    name = "gatecrasher"
    expects = frozenset({"survey_complete"})
    requires = ("password",)
    think = Uniform(0.3, 0.7)
    tried_wrong = False

    def not_tried_yet(self, page: PageReply) -> bool:
        return not self.tried_wrong

    def let_in_by_the_wrong_one(self, page: PageReply) -> bool:
        return self.tried_wrong and not self.passwords_sent

    @rule(status="authentication_required", when="not_tried_yet")
    def wrong_password(self, page: PageReply) -> Move:
        self.tried_wrong = True
        return Submit({"password": f"not-{self.params['password']}-{self.rng.randint(1, 9999)}"})

    @rule(status=("success", "language_selection_required"),
          when="let_in_by_the_wrong_one")
    def wrong_password_let_in(self, page: PageReply) -> None:
        self.fail_check("wrong_password_accepted", "a wrong password opened the survey")
        self.passwords_sent = 1  # report once, then carry on through the default rules
        return None
