"""Errors typed by blame. Each is reported under its own name, so a report can say whose fault
a failed respondent was: our script, the server (it broke the API contract), the transport, or a
fault we injected on purpose."""

from __future__ import annotations

__all__ = [
    "BLAME",
    "InjectedFault",
    "LoadtestError",
    "PersonaStuck",
    "ScriptError",
    "ServerContractError",
    "TransportError",
    "UnanswerableQuestion",
]


class LoadtestError(Exception):
    blame = "script"


class ScriptError(LoadtestError):
    """Our side is wrong: a persona or scenario that cannot do what it was asked."""

    blame = "script"


class UnanswerableQuestion(ScriptError):
    """A question whose formParam we do not know how to answer. Named, never guessed."""

    def __init__(self, question_id: object, prefix: object, id_type: object) -> None:
        super().__init__(
            f"question {question_id}: cannot answer formParam paramPrefix={prefix!r} paramIdType={id_type!r}"
        )
        self.question_id, self.prefix, self.id_type = question_id, prefix, id_type


class PersonaStuck(ScriptError):
    """No rule of the persona applies to the reply it got; carries the page it was stuck on."""

    def __init__(self, persona: str, status: str, excerpt: str) -> None:
        super().__init__(f"persona {persona!r} has no move for status {status!r}: {excerpt}")
        self.persona, self.status, self.excerpt = persona, status, excerpt


class ServerContractError(LoadtestError):
    """The server replied with something the API does not allow (bad JSON, unknown status, ...)."""

    blame = "server"

    def __init__(self, message: str, http_status: int = 0, excerpt: str = "") -> None:
        detail = f" (HTTP {http_status}: {excerpt})" if http_status or excerpt else ""
        super().__init__(message + detail)
        self.http_status, self.excerpt = http_status, excerpt


class TransportError(LoadtestError):
    """The request did not get a complete HTTP reply: refused, reset, timed out, cut short."""

    blame = "transport"


class InjectedFault(LoadtestError):
    """A failure the platform tagged as injected on purpose (fault injection)."""

    blame = "injected"


BLAME = ("script", "server", "transport", "injected")
