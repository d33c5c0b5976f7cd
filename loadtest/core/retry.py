"""How long to wait before sending again: Retry-After (both forms) and jittered back-off. Pure."""

from __future__ import annotations

import email.utils

__all__ = ["backoff_s", "retry_after_s"]


def retry_after_s(header: str | None, date_header: str | None, cap_s: float) -> float | None:
    """Seconds a Retry-After header asks for, bounded to [0, cap_s]; None when there is none or it
    cannot be read (then the caller backs off by itself).

    Delta-seconds is read as it is. An HTTP date is measured against the reply's own Date header,
    so the server's clock is compared with itself (no clock of ours, and no skew between the two);
    a date with no Date header to measure it against waits one second."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return min(cap_s, float(text))
    when = _http_date(text)
    if when is None:
        return None
    now = _http_date(date_header or "")
    if now is None:
        return min(cap_s, 1.0)
    return min(cap_s, max(0.0, when - now))


def _http_date(text: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() if when.tzinfo is not None else None


def backoff_s(attempt: int, seed: int, base_s: float = 0.5, cap_s: float = 10.0) -> float:
    """Exponential back-off with full jitter, drawn from (seed, attempt) rather than the
    respondent's generator, so waiting out a 429 never changes what the respondent answers."""
    x = (seed ^ (attempt * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    fraction = ((x ^ (x >> 31)) >> 11) / float(1 << 53)
    return max(0.05, min(cap_s, base_s * 2.0 ** attempt) * fraction)
