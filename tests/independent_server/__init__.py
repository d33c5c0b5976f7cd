"""An independent survey server for the test suite: the tool must be tested against a server it did not write.

`loadtest/platform/` is our reference platform, and the load tester was written beside it: any
misreading of the API the two share passes every test that runs one against the other. This
package is a second server, written from the spec pages in `/work/shared/seeds/` (000 take and
page JSON, 001 previous-page, the README's submit-page body) and from nothing in `loadtest/` - it
imports none of it. It differs from the reference platform in every way the spec allows:

- opaque random tokens, rotated on every reply; the current and the one before are accepted;
- `questions[].json` is a JSON-encoded string with unknown extra fields in it;
- the seed's type codes (U, M, T), ids above 9,000,000,000, relative navigation URLs;
- a per-api-key rate limit (429, Retry-After in both forms), bursts of 503, chunked replies,
  `Connection: close` after some replies;
- a screener and completes that redirect to a host outside the target (a counting listener on
  127.0.0.2), a quota cell with a small limit, required questions and a minimum text length.

Use `with running_server(ServerConfig(...)) as srv:` in a test, or `python -m tests.independent_server`.
"""

from .config import ServerConfig, StatsSnapshot
from .server import RunningServer, running_server

__all__ = ["RunningServer", "ServerConfig", "StatsSnapshot", "running_server"]
