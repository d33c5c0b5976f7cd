"""BadInput: a problem with what the user gave us. The CLI prints it as one line and exits 2."""

__all__ = ["BadInput"]


class BadInput(Exception):
    pass
