"""Quota chaser: always picks the quota cell the scenario names (params `answers`), so the cell
fills and later chasers are turned away with quota_full."""

from loadtest.persona import Persona, Uniform


class QuotaChaser(Persona):
    name = "quota_chaser"
    expects = frozenset({"survey_complete", "quota_full"})
    requires = ("answers",)
    think = Uniform(0.3, 0.7)
    needs_target_rules = ("a quota cell on the pinned answer (else every chaser completes)",)
