"""Backtracker: after a page or two it goes back, checks that its earlier answers came back
`selected` (a mismatch is a server-contract failure), changes one answer and resubmits."""

from typing import Any

from loadtest.persona import (
    Back,
    Move,
    PageReply,
    Param,
    Persona,
    Respondent,
    Uniform,
    echo_extension_mismatches,
    echo_mismatches,
    keys_of,
    kind_of,
    rule,
)


class Backtracker(Persona):
    name = "backtracker"
    expects = frozenset({"survey_complete"})
    think = Uniform(0.3, 0.7)
    parameters = {"max_back_after": Param(int, 2, "goes back after 1..max_back_after answered pages")}

    def __init__(self, respondent: Respondent) -> None:
        super().__init__(respondent)
        self.back_after = self.rng.randint(1, max(1, int(self.param("max_back_after"))))
        self.sent: list[dict[str, Any]] = []  # forms submitted, in order
        self.state = "forward"  # forward -> back (waiting for the earlier page) -> done

    def going_back(self, page: PageReply) -> bool:
        return self.state == "back"

    def time_to_go_back(self, page: PageReply) -> bool:
        return self.state == "forward" and len(self.sent) >= self.back_after

    def not_back_yet(self, page: PageReply) -> bool:
        return self.state != "done"

    @rule(status="success", when="going_back")
    def check_and_change(self, page: PageReply) -> Move:
        earlier = self.sent[-1]
        # Seed 001 promises prior choices marked selected on previous-page; echoed texts are the
        # reference platform's extension, so those are noted, not failed. The same page shown by a
        # resume (the reply to the changed submit below was lost) is a take's reply: no promise.
        if page.via == "previous-page":
            problems = [p for q in page.questions for p in echo_mismatches(q, earlier)]
            if problems:
                self.fail_check("previous_page_mismatch", "; ".join(problems))
            unseen = [p for q in page.questions for p in echo_extension_mismatches(q, earlier)]
            if unseen:
                self.note_extension("previous_page_values", "; ".join(unseen))
        self.state = "done"
        # Change one answer the scenario did not pin (pinned ones steer screeners and quotas).
        pinned = self.r.pinned
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
        self.sent[-1] = form
        return self.submit(form, page)

    @rule(status="success", when="time_to_go_back")
    def go_back(self, page: PageReply) -> Move:
        self.state = "back"
        return Back(think_s=self.pause())

    @rule(status="success")
    def answer_page(self, page: PageReply) -> Move:
        form = self.fill(page)
        self.sent.append(form)
        return self.submit(form, page)

    @rule(status="survey_complete", when="not_back_yet")
    def never_went_back(self, page: PageReply) -> None:
        self.fail_check("backtrack_not_done", f"survey ended after {len(self.sent)} pages, before going back",
                        blame="script")
        return None
