"""The goals at a glance: read every marked section of bench/RESULTS.md, pick its goal lines
(the ones that say **met** or **NOT met**), and write them as the `goals` section at the top.

    .venv/bin/python bench/goals.py          (bench/run calls it last)
"""

from __future__ import annotations

import datetime
import re
import sys

import results

SECTION = re.compile(r"<!-- ([a-z-]+):start -->\n## (.+?)\n(.*?)<!-- \1:end -->", re.S)
VERDICT = re.compile(r"\*\*[^*]*\b(NOT met|met)\b[^*]*\*\*|\(goal[^)]*\b(NOT met|met)\)")


def goal_lines(body: str) -> list[tuple[str, str]]:
    out = []
    for line in body.splitlines():
        if not VERDICT.search(line):
            continue
        verdict = "NOT met" if "NOT met" in line else "met"
        text = re.sub(r"\s+", " ", line.replace("|", "/")).strip()
        out.append((verdict, text[:220] + ("…" if len(text) > 220 else "")))
    return out


def main() -> int:
    text = results.RESULTS.read_text()
    rows = []
    for key, title, body in SECTION.findall(text):
        if key == "goals":
            continue
        for verdict, line in goal_lines(body):
            rows.append(f"| {title} | {'✅ met' if verdict == 'met' else '❌ NOT met'} | {line} |")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    body = (f"Collected {stamp} UTC from the sections below (`bench/run` runs every benchmark, then this).\n\n"
            "| benchmark | verdict | the goal line |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    start, end = "<!-- goals:start -->", "<!-- goals:end -->"
    section = f"{start}\n## Goals at a glance\n\n{body}\n{end}"
    if start in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:  # first time: right under the title
        head, _, rest = text.partition("\n")
        text = f"{head}\n\n{section}\n{rest}"
    results.RESULTS.write_text(text)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
