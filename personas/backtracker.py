"""Backtracker: after a page or two it goes back, checks that its earlier answers came back
`selected` (a mismatch is a server-contract failure), changes one answer and resubmits."""

from typing import Any

from loadtest.persona import (
    Back,
    Move,
    PageReply,
    Persona,
    Respondent,
    Uniform,
    echo_mismatches,
    keys_of,
    kind_of,
    rule,
)


class Backtracker(Persona):
    name = "backtracker"
    expects = frozenset({"survey_complete"})
    think = Uniform(0.3, 0.7)

    def __init__(self, respondent: Respondent) -> None:
        super().__init__(respondent)
        self.back_after = self.rng.randint(1, int(self.params.get("max_back_after", 2)))
        self.sent: list[dict[str, Any]] = []  # forms submitted, in order
        self.state = "forward"  # forward -> back (waiting for the earlier page) -> done
        self.changed_last = False  # whether the last submit was the changed earlier page

    def move_lost(self, move: str, page_status: str) -> None:
        if move == "back":  # still on the later page: go back again
            self.state = "forward"
        elif self.changed_last:  # the changed answer never landed: check and change it again
            self.state = "back"
            self.sent[-1] = self.unchanged
        elif self.sent:  # a page answered going forward never landed
            self.sent.pop()
        super().move_lost(move, page_status)

    @rule(status="success", when=lambda self, page: self.state == "back")
    def check_and_change(self, page: PageReply) -> Move:
        earlier = self.sent[-1]
        problems = [p for q in page.questions for p in echo_mismatches(q, earlier)]
        if problems:
            self.fail_check("previous_page_mismatch", "; ".join(problems))
        self.state = "done"
        # Change one answer the scenario did not pin (pinned ones steer screeners and quotas).
        pinned = {int(k) for k in (self.params.get("answers") or {})}
        changeable = [q for q in page.questions
                      if q.id not in pinned and kind_of(q) in ("single", "multi", "grid") and len(q.answers) > 1]
        form = dict(earlier)
        if changeable:
            q = self.rng.choice(changeable)
            old = {k: v for k, v in earlier.items() if k in keys_of(q)}
            new = old
            for _ in range(20):  # draw until the answer differs from what was sent
                new = self.r.answers.answer(q)
                if new != old:
                    break
            form = {k: v for k, v in earlier.items() if k not in old} | new
        self.unchanged, self.sent[-1], self.changed_last = earlier, form, True
        return self.submit(form, page)

    @rule(status="success", when=lambda self, page: self.state == "forward" and len(self.sent) >= self.back_after)
    def go_back(self, page: PageReply) -> Move:
        self.state = "back"
        return Back(think_s=self.think.sample(self.rng))

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        form = self.fill(page)
        self.sent.append(form)
        self.changed_last = False
        return self.submit(form, page)

    @rule(status="survey_complete", when=lambda self, page: self.state != "done")
    def never_went_back(self, page: PageReply) -> None:
        self.fail_check("backtrack_not_done", f"survey ended after {len(self.sent)} pages, before going back",
                        blame="script")
        return None
