"""Completer: answers every page validly at a human pace and finishes the survey."""

from loadtest.persona import Persona, Uniform


class Completer(Persona):
    name = "completer"
    expects = frozenset({"survey_complete"})
    think = Uniform(0.3, 0.8)
