"""Validation fixer: on the first page with a rule it can break, submits invalid answers, checks
that validation_errors names exactly those questions, then fixes them and goes on."""

from loadtest.persona import Move, PageReply, Persona, Uniform, keys_of, rule


class ValidationFixer(Persona):
    name = "validation_fixer"
    expects = frozenset({"survey_complete"})
    think = Uniform(0.3, 0.7)
    broke: frozenset[int] | None = None  # question ids answered invalidly, until the errors come back

    def nothing_broken_yet(self, page: PageReply) -> bool:
        return self.broke is None

    def broke_some(self, page: PageReply) -> bool:
        return bool(self.broke)

    @rule(status="success", when="nothing_broken_yet")
    def break_rules(self, page: PageReply) -> Move | None:
        form = self.fill(page)
        broken = []
        for q in page.questions:
            bad = self.r.answers.invalid(q)
            if bad is None:
                continue
            form = {k: v for k, v in form.items() if k not in keys_of(q)} | bad
            broken.append(q.id)
        if not broken:
            return None  # nothing to break here: answer normally and try the next page
        self.broke = frozenset(broken)
        return self.submit(form, page)

    @rule(status="validation_errors", when="broke_some")
    def fix(self, page: PageReply) -> Move:
        named = frozenset(qid for qid, _ in page.validation_errors if qid is not None)
        if named != self.broke:
            self.fail_check("validation_errors_mismatch",
                            f"broke {sorted(self.broke or ())}, server named {sorted(named)}")
        self.broke = frozenset()
        return self.submit(self.fill(page), page)
