"""What every bench script shares: the machine line, and rewriting its own marked section of
bench/RESULTS.md (`<!-- KEY:start -->` ... `<!-- KEY:end -->`) while leaving the others alone."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine(packages: tuple[str, ...] = ("granian",)) -> str:
    """Cores, CPU, Python, the named packages' versions, and wrk's when it is installed."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "unknown CPU")
    parts = [f"nproc {os.cpu_count()}", cpu, f"Python {platform.python_version()}"]
    parts += [f"{p} {importlib.metadata.version(p)}" for p in packages]
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split()
        parts.append(f"wrk {out[1] if len(out) > 1 else '?'}")
    return ", ".join(parts)


def write_section(key: str, title: str, body: str) -> None:
    """Replace (or append) this bench's section; other sections stay as they are."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    section = f"{start}\n## {title}\n\n{body}\n{end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def header(script: str, machine_line: str) -> list[str]:
    """A section's first lines: when and where it ran, and the command line that made it."""
    return [f"Run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {machine_line}.", "", "```",
            shlex.join([".venv/bin/python", script, *sys.argv[1:]]), "```", ""]
