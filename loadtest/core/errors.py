"""Errors typed by blame. Each is reported under its own name, so a report can say whose fault
a failed respondent was: our script, our configuration, the server (it broke the API contract),
the target refusing or shedding load, the transport, or a fault we injected on purpose."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Blame",
    "CertificateError",
    "ConfigurationError",
    "FlowUsageError",
    "InjectedFault",
    "LoadtestError",
    "PersonaDefinitionError",
    "PersonaStuck",
    "RateLimited",
    "RequestCapExceeded",
    "ScriptError",
    "ServerContractError",
    "TransportError",
    "UnanswerableQuestion",
]


class Blame(StrEnum):
    """Whose fault a failure is. A str, so it reads and serialises as its value."""

    SCRIPT = "script"  # a persona or the tool itself
    CONFIGURATION = "configuration"  # the scenario: API key, survey id, pinned answers
    SERVER = "server"  # the target broke the API contract
    TARGET = "target"  # the target refused or shed the load (429s, 503s) past what a respondent waits
    TRANSPORT = "transport"  # no complete HTTP reply
    INJECTED = "injected"  # a fault the reference platform injected on purpose


class LoadtestError(Exception):
    blame: Blame = Blame.SCRIPT


class ScriptError(LoadtestError):
    """Our side is wrong: a persona or scenario that cannot do what it was asked."""

    blame = Blame.SCRIPT


class RequestCapExceeded(ScriptError):
    """A respondent used its whole request budget: a persona going round in circles."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"more than {cap} requests; is the persona going round in circles?")
        self.cap = cap


class FlowUsageError(ScriptError):
    """A driver called the flow in a state that does not accept that call (a driver bug)."""


class ConfigurationError(LoadtestError):
    """The target refused what the scenario told us to send: a wrong API key, survey id or answer."""

    blame = Blame.CONFIGURATION


class UnanswerableQuestion(ScriptError):
    """A question whose formParam we do not know how to answer. Named, never guessed."""

    def __init__(self, question_id: object, prefix: object, id_type: object) -> None:
        super().__init__(
            f"question {question_id}: cannot answer formParam paramPrefix={prefix!r} paramIdType={id_type!r}"
        )
        self.question_id, self.prefix, self.id_type = question_id, prefix, id_type


class PersonaStuck(ScriptError):
    """No rule of the persona applies to the reply it got; carries the page and the rules tried."""

    def __init__(self, persona: str, status: str, excerpt: str, tried: tuple[str, ...] = ()) -> None:
        rules = f" (rules tried: {', '.join(tried)})" if tried else " (no rule takes this status)"
        super().__init__(f"persona {persona!r} has no move for status {status!r}{rules}: {excerpt}")
        self.persona, self.status, self.excerpt, self.tried = persona, status, excerpt, tried


class PersonaDefinitionError(ScriptError):
    """A persona class that cannot work as written: found when it is defined, never mid-run."""


class ServerContractError(LoadtestError):
    """The server replied with something the API does not allow (bad JSON, unknown status, ...)."""

    blame = Blame.SERVER

    def __init__(self, message: str, http_status: int = 0, excerpt: str = "") -> None:
        detail = f" (HTTP {http_status}: {excerpt})" if http_status or excerpt else ""
        super().__init__(message + detail)
        self.http_status, self.excerpt = http_status, excerpt


class RateLimited(LoadtestError):
    """The target kept answering 429 (or 503) past the respondent's wait budget."""

    blame = Blame.TARGET


class TransportError(LoadtestError):
    """The request did not get a complete HTTP reply: refused, reset, timed out, cut short."""

    blame = Blame.TRANSPORT


class CertificateError(TransportError):
    """The target's certificate did not verify: never retried (it will not verify next time)."""

    blame = Blame.CONFIGURATION


class InjectedFault(LoadtestError):
    """A failure the platform tagged as injected on purpose (fault injection)."""

    blame = Blame.INJECTED
