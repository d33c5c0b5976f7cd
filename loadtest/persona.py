"""What persona scripts import: `from loadtest.persona import Persona, rule, ...`."""

from loadtest.core.answers import chosen_ids, echo_extension_mismatches, echo_mismatches, keys_of, kind_of
from loadtest.core.errors import Blame
from loadtest.core.page import PageReply, Question
from loadtest.core.persona import (
    Abandon,
    Back,
    Fixed,
    LogNormal,
    Move,
    Param,
    Persona,
    Respondent,
    Submit,
    Take,
    ThinkTime,
    Uniform,
    rule,
)

__all__ = [
    "Abandon", "Back", "Blame", "Fixed", "LogNormal", "Move", "PageReply", "Param", "Persona", "Question",
    "Respondent", "Submit", "Take", "ThinkTime", "Uniform", "chosen_ids", "echo_extension_mismatches",
    "echo_mismatches", "keys_of", "kind_of", "rule",
]
