"""A scenario's HTTP settings for its target: extra headers and TLS.

    [scenario]
    headers = { "User-Agent" = "loadtest (staging run)" }   # sent as they are
    header_env = { Authorization = "GATEWAY_AUTH" }         # header name -> environment variable
    tls_ca_file = "staging-ca.pem"                          # relative to the scenario
    tls_verify = true                                       # false: any certificate (one warning line)

Values read from the environment are secrets like the API key: they are sent, never printed,
logged, recorded or written into a report.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loadtest.core.toml_reader import TomlReader
from loadtest.core.usage import BadInput

__all__ = ["HTTP_KEYS", "HttpSettings", "parse_http_settings"]

HTTP_KEYS = ("headers", "header_env", "tls_ca_file", "tls_verify")
# Set by the tool itself on every request; a scenario may not replace them.
_OURS = frozenset({"api-key", "x-survey-token", "content-type", "content-length", "host", "accept"})


@dataclass(frozen=True)
class HttpSettings:
    headers: tuple[tuple[str, str], ...] = ()
    header_env: tuple[tuple[str, str], ...] = ()  # (header name, environment variable)
    tls_ca_file: Path | None = None
    tls_verify: bool = True

    def resolved_headers(self, environ: Mapping[str, str] = os.environ) -> tuple[tuple[str, str], ...]:
        """Every extra header with its value; BadInput naming the variable when one is unset."""
        out = list(self.headers)
        for name, var in self.header_env:
            value = environ.get(var)
            if not value:
                raise BadInput(f"scenario.header_env.{name}: expected the environment variable {var} to be set")
            out.append((name, value))
        return tuple(out)

    def secrets(self, environ: Mapping[str, str] = os.environ) -> list[str]:
        return [environ[var] for _, var in self.header_env if environ.get(var)]


def parse_http_settings(head: TomlReader, base: Path) -> HttpSettings:
    headers = _header_table(head, "headers")
    header_env = _header_table(head, "header_env")
    ca_file = None
    if "tls_ca_file" in head.data:
        ca_file = (base / head.str("tls_ca_file")).resolve()
        if not ca_file.is_file():
            raise head.fail("tls_ca_file", f"a PEM file of CA certificates, relative to the scenario (no file "
                            f"{ca_file})")
    return HttpSettings(headers=headers, header_env=header_env, tls_ca_file=ca_file,
                        tls_verify=head.bool("tls_verify", True))


def _header_table(head: TomlReader, key: str) -> tuple[tuple[str, str], ...]:
    table = head.table(key)
    out = []
    for name, value in table.data.items():
        if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise table.fail(name, "a header name (letters, digits, '-')")
        if name.lower() in _OURS:
            raise table.fail(name, f"a header of the scenario's own ({name} is set by loadtest)")
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise table.fail(name, "a one-line string" + (" (an environment variable's name)" if key == "header_env"
                                                          else ""))
        out.append((name, value))
    return tuple(out)
