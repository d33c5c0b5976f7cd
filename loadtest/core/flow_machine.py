"""The RespondentFlow's states, its inputs and the one table of what may follow what.

The flow (flow.py) checks every call and every move against TRANSITIONS, so a driver that calls
it out of turn gets a FlowUsageError instead of a quietly wrong respondent:

    NEW        start                                  -> WAITING
    WAITING    reply, persona moves                   -> WAITING    take / submit-page / previous-page
    WAITING    reply 429 (target's limit)             -> WAITING    the same request, after Retry-After
    WAITING    reply 502/503/504, or a tagged fault   -> RESUMING   as lost (below)
    WAITING    reply, terminal, redirect allowed      -> FOLLOWING  GET redirectUrl (allow-listed host)
    WAITING    reply, terminal / Abandon / failure    -> DONE
    WAITING    lost, no session yet                   -> WAITING    the take again (nothing to repeat twice)
    WAITING    lost, a session                        -> RESUMING   a take with the token
    RESUMING   reply                                  -> as WAITING (the recovery is settled first)
    RESUMING   reply 429 / 502-504 / lost             -> RESUMING   the resume again
    FOLLOWING  reply / lost / fail                    -> DONE       (the outcome stands)
    any        lost past the limits, fail, cut_off    -> DONE       (typed by blame; cut_off: incomplete)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TRANSITIONS", "Input", "State"]


class State(StrEnum):  # str's C hash: TRANSITIONS is looked up twice a request
    NEW = "new"
    WAITING = "waiting"  # a respondent-API request is out
    RESUMING = "resuming"  # a take with the token is out, after a lost reply
    FOLLOWING = "following"  # the outcome is reached; the allow-listed redirect is out
    DONE = "done"


class Input(StrEnum):
    START = "start"
    REPLY = "reply"
    LOST = "lost"
    FAIL = "fail"
    CUT_OFF = "cut_off"


_ANY_LIVE = (State.NEW, State.WAITING, State.RESUMING, State.FOLLOWING)
TRANSITIONS: dict[tuple[State, Input], frozenset[State]] = {
    (State.NEW, Input.START): frozenset({State.WAITING}),
    (State.WAITING, Input.REPLY): frozenset({State.WAITING, State.RESUMING, State.FOLLOWING, State.DONE}),
    (State.WAITING, Input.LOST): frozenset({State.WAITING, State.RESUMING, State.DONE}),
    (State.RESUMING, Input.REPLY): frozenset({State.WAITING, State.RESUMING, State.FOLLOWING, State.DONE}),
    (State.RESUMING, Input.LOST): frozenset({State.RESUMING, State.DONE}),
    (State.FOLLOWING, Input.REPLY): frozenset({State.DONE}),
    (State.FOLLOWING, Input.LOST): frozenset({State.DONE}),
    **{(s, Input.FAIL): frozenset({State.DONE}) for s in _ANY_LIVE},
    **{(s, Input.CUT_OFF): frozenset({State.DONE}) for s in _ANY_LIVE},
}
