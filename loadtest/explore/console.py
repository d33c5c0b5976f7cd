"""The survey map as a tree on the console: pages, questions, what each answer led to, the findings."""

from __future__ import annotations

from typing import IO, Any

__all__ = ["print_tree"]

_SKIP_RULES = ("paramPrefix", "paramIdType")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rules(form: dict[str, Any]) -> str:
    rest = {k: v for k, v in form.items() if k not in _SKIP_RULES}
    key = f"{form.get('paramPrefix', '')}{form.get('paramIdType', '')}"
    return key + (" " + " ".join(f"{k}={v}" for k, v in rest.items()) if rest else "")


def _followed(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "not given"
    parts = []
    for e in entries:
        detail = f" ({e['detail']})" if e.get("detail") else ""
        where = "" if e["result"].startswith("page") or e["result"] == "survey_complete" else \
            f" [respondent {e['walk']}, seed {e['seed']}]"
        parts.append(f"{e['result']}{detail} ×{e['count']}{where}")
    return ", ".join(parts)


def print_tree(doc: dict[str, Any], out: IO[str]) -> None:
    used = doc["used"]
    state = "explored every branch it found" if doc["stopped"] == "explored" else f"budget ran out ({doc['stopped']})"
    print(f"survey {doc['survey_id']} at {doc['target']}: {used['respondents']} respondents, "
          f"{used['requests']} requests; {state}", file=out)
    for gate in doc.get("gates", []):
        langs = f" ({', '.join(gate['languages'])})" if gate.get("languages") else ""
        print(f"gate: {gate['status']}{langs}{'' if gate.get('passed') else ' — not passed'}", file=out)
    for page in doc["pages"]:
        nexts = ", ".join(f"{n['to']} ×{n['count']}" for n in page["next"]) or "nothing led on"
        print(f"page {page['page']}  → {nexts}", file=out)
        if page.get("shown_only_after") is not None:
            cond = "; ".join(f"{c['question']} = {' or '.join(map(str, c['answers']))}"
                             for c in page["shown_only_after"]) or "answers not found"
            print(f"│   shown only after {cond}", file=out)
        items = page["questions"]
        for i, q in enumerate(items):
            last_q = i == len(items) - 1 and not page.get("validation")
            branch, stem = ("└── ", "    ") if last_q else ("├── ", "│   ")
            print(f"{branch}{q['id']} {q['kind']} \"{_short(q['text'])}\"  {_rules(q['formParam'])}", file=out)
            if "followed" not in (q["answers"][0] if q["answers"] else {}):
                continue
            for j, a in enumerate(q["answers"]):
                twig = "└── " if j == len(q["answers"]) - 1 else "├── "
                print(f"{stem}{twig}{a['id']} \"{_short(a['text'], 30)}\" → {_followed(a['followed'])}", file=out)
        validation = page.get("validation")
        if validation:
            msgs = "; ".join(f"{e.get('question')}: {_short(e.get('message', ''), 50)}" for e in validation["errors"])
            loose = validation.get("not_enforced")
            extra = f"; not enforced: {', '.join(map(str, loose))}" if loose else ""
            print(f"└── validation: {msgs or 'none named'}{extra}", file=out)
    print("outcomes:", file=out)
    for o in doc["outcomes"]:
        first = o["paths"][0]
        detail = f" ({o['detail']})" if o.get("detail") else ""
        print(f"  {o['outcome']}{detail} ×{o['count']}  e.g. respondent {first['walk']}, seed {first['seed']}",
              file=out)
    print("found:", file=out)
    for s in doc["screeners"]:
        print(f"  screener: {s['question']} = {s['answer']} \"{_short(s['text'], 30)}\" → terminated", file=out)
    for c in doc["quota_cells"]:
        name = f" ({c['quota_id']})" if c.get("quota_id") else ""
        print(f"  quota cell{name}: {c['question']} = {c['answer']} \"{_short(c['text'], 30)}\" → quota_full after "
              f"{c['completes_before']} completes with it", file=out)
    if not doc["quota_cells"]:
        print("  quota cell: none filled", file=out)
    for c in doc["chains"]:
        print(f"  chain: {c['question']} = {c['answer']} → redirect to {c['host']}", file=out)
    for name, q in doc["quality"].items():
        if q.get("found") is None:
            print(f"  {name} rule: not probed", file=out)
        else:
            said = f" ({q['reason']})" if q.get("reason") else ""
            print(f"  {name} rule: {'yes' if q['found'] else 'not seen'} — the probe ended {q['outcome']}{said}",
                  file=out)
    for p in doc["display_logic"]:
        print(f"  display logic: page {p['page']} ({', '.join(map(str, p['questions']))})", file=out)
    if doc["not_explored"]:
        print("not explored:", file=out)
        for line in doc["not_explored"]:
            print(f"  {line}", file=out)
