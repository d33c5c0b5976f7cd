"""The one TLS client context a run uses, from the scenario's `tls_ca_file` and `tls_verify`.

Built once and shared by every connection of both drivers and of the control-plane clients:
an SSL context costs ~40 ms to build, and one per connection showed in the CPU profile.
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["TlsSettingsError", "client_context"]


class TlsSettingsError(ValueError):
    """A CA file that cannot be used; str() is one line."""


def client_context(ca_file: Path | None = None, verify: bool = True) -> ssl.SSLContext:
    """Verifying by default, against the system's CAs or `ca_file`'s; `verify=False` accepts any
    certificate (a staging server's), which the drivers announce with one warning line."""
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSettingsError(f"{ca_file}: expected a PEM file of CA certificates ({exc})") from None
