#!/usr/bin/env python3
"""Reference model of how hermes-webui READS a turn journal (FORMATS.md section 1).

Used by differential tests: our TypeScript reader is compared with what upstream
would report for the same sessions folder. Written from the documented semantics;
it deliberately reproduces upstream's weaknesses instead of fixing them:

* each shard is read with ``Path.read_text(encoding="utf-8").splitlines()``, so
  U+2028, U+2029, U+0085 (left raw by ``json.dumps(ensure_ascii=False)``) break a
  line in two, a UTF-8 BOM makes the first line malformed, and invalid UTF-8
  anywhere in a shard raises ``UnicodeDecodeError`` for the whole session;
* ``json.loads`` accepts ``NaN``, ``Infinity`` and ``-Infinity``;
* events are stable-sorted by ``created_at`` where a missing or non-numeric value
  counts as 0 (``float(x or 0)``, ``ValueError``/``TypeError`` -> 0);
* the derivation then compares ``float(event.get("created_at") or 0)`` WITHOUT that
  guard, so a non-numeric string raises ``ValueError`` (as soon as it is compared);
* latest event per ``turn_id`` uses ``>=``, so ties go to the event later in the
  sorted order, and a NaN ``created_at`` never wins a comparison.

Raised exceptions are caught and reported as the session's ``error`` field
(``"<ExceptionClass>: <message>"``) instead of crashing the script.

Session discovery follows upstream's newer (sharded) version: every ``*.jsonl``
regular file in ``SESSION_DIR/_turn_journal``; the session id is the file stem up
to the first ``~`` (``<sid>~<pid>.jsonl`` shards plus the legacy ``<sid>.jsonl``).
Names whose id fails ``^[A-Za-z0-9_.-]+$`` (or is ``.``/``..``) are skipped and
listed under ``skipped``.

Shard order inside a session: sorted by file name (plain code-point order, so the
legacy ``<sid>.jsonl`` sorts before ``<sid>~<pid>.jsonl`` because "." < "~", and
pids compare as text: ``~10`` < ``~9``). NOTE: upstream itself iterates
``glob()`` order (directory order, unsorted) and appends the legacy file last;
sorting makes this reference deterministic. The order only matters for
``created_at`` ties across shards. Line numbers are 1-based indexes into
``splitlines()`` of the shard (blank lines count, they are just skipped).

Usage::

    python3 upstream_reader.py <sessionsDir>

prints one JSON object to stdout::

    {"sessions": {"<sid>": {"states": {"<turn_id>": "<event name>"},
                            "collisions": [{"turn_id": ..., "events": ["completed", "interrupted"]}],
                            "malformed": [{"shard": "<file name>", "line": 3}],
                            "event_count": 12,
                            "pending": [{"turn_id": ..., "event": "submitted"}],
                            "error": "ValueError: ..."}},      # only when upstream raises
     "skipped": ["bad name!.jsonl"]}

``pending`` is upstream's audit rule ``turn_journal_pending_turn``: a turn whose latest
event is not terminal, whose latest event has a non-empty stripped ``content``, and that
content is not among the stripped contents of the sidecar's ``role == "user"`` messages
(an unreadable sidecar counts as having none).

With ``error`` set, ``states``/``collisions``/``pending`` are empty and ``malformed`` /
``event_count`` hold whatever was gathered before the raise.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

JOURNAL_DIR = "_turn_journal"
TERMINAL = frozenset({"completed", "interrupted"})
SID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def valid_session_id(sid: str) -> bool:
    return bool(sid) and sid not in (".", "..") and SID_RE.fullmatch(sid) is not None


def discover(sessions_dir: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Group journal files by session id; return (sid -> shards sorted by name, skipped names)."""
    journal = sessions_dir / JOURNAL_DIR
    groups: dict[str, list[Path]] = {}
    skipped: list[str] = []
    if not journal.is_dir():
        return groups, skipped
    for path in journal.glob("*.jsonl"):
        if not path.is_file():
            continue
        sid = path.stem.split("~", 1)[0]
        if not valid_session_id(sid):
            skipped.append(path.name)
            continue
        groups.setdefault(sid, []).append(path)
    for shards in groups.values():
        shards.sort(key=lambda p: p.name)
    return dict(sorted(groups.items())), sorted(skipped)


def sort_key(event: dict) -> float:
    """Upstream's guarded sort key: missing/falsy -> 0, unconvertible -> 0."""
    try:
        return float(event.get("created_at") or 0)
    except (TypeError, ValueError):
        return 0.0


def strict_ts(event: dict) -> float:
    """Upstream's unguarded conversion used by the derivation (may raise)."""
    return float(event.get("created_at") or 0)


def read_session(shards: list[Path], out: dict) -> list[dict]:
    """Read every shard like upstream; fills out["malformed"]; may raise (e.g. UnicodeDecodeError)."""
    events: list[dict] = []
    for shard in shards:
        text = shard.read_text(encoding="utf-8")
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                out["malformed"].append({"shard": shard.name, "line": number})
                continue
            if isinstance(value, dict):
                events.append(value)
            else:
                out["malformed"].append({"shard": shard.name, "line": number})
    events.sort(key=sort_key)  # list.sort is stable
    out["event_count"] = len(events)
    return events


def event_name(event: dict):
    name = event.get("event")
    if isinstance(name, float) and name != name:  # keep the output strict JSON
        return "NaN"
    return name


def derive(events: list[dict]) -> tuple[dict[str, dict], list[dict]]:
    """Latest event per turn_id (ties -> later) and turns with more than one terminal event."""
    latest: dict[str, dict] = {}
    terminals: dict[str, list[dict]] = {}
    for event in events:
        if not isinstance(event, dict):
            continue
        turn_id = str(event.get("turn_id") or "").strip()
        if not turn_id:
            continue
        if str(event.get("event") or "") in TERMINAL:
            terminals.setdefault(turn_id, []).append(event)
        current = latest.get(turn_id)
        if current is None:
            latest[turn_id] = event
        elif strict_ts(event) >= strict_ts(current):
            latest[turn_id] = event
    collisions = []
    for turn_id, items in terminals.items():
        if len(items) > 1:
            collisions.append({"turn_id": turn_id, "events": sorted(items, key=strict_ts)})
    return latest, collisions


def user_contents(sidecar: Path) -> set[str]:
    """Stripped contents of the sidecar's user messages, as upstream's audit gathers them."""
    found: set[str] = set()
    try:
        payload = json.loads(sidecar.read_text(encoding="utf-8"))
        if isinstance(payload, dict):
            for message in payload.get("messages") or []:
                if isinstance(message, dict) and message.get("role") == "user":
                    found.add(str(message.get("content") or "").strip())
    except (OSError, json.JSONDecodeError, ValueError):
        pass
    return found


def pending_turns(latest: dict[str, dict], sidecar: Path) -> list[dict]:
    existing = user_contents(sidecar)
    out = []
    for turn_id, event in sorted(latest.items()):
        if str(event.get("event") or "") in TERMINAL:
            continue
        content = str(event.get("content") or "").strip()
        if not content or content in existing:
            continue
        out.append({"turn_id": turn_id, "event": str(event.get("event") or "")})
    return out


def audit_session(shards: list[Path], sidecar: Path | None = None) -> dict:
    out: dict = {"states": {}, "collisions": [], "malformed": [], "event_count": 0, "pending": []}
    try:
        events = read_session(shards, out)
        latest, collisions = derive(events)
    except Exception as exc:  # reproduce upstream's raise as data
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    out["states"] = {turn_id: event_name(event) for turn_id, event in latest.items()}
    out["collisions"] = [
        {"turn_id": c["turn_id"], "events": [event_name(e) for e in c["events"]]} for c in collisions
    ]
    if sidecar is not None:
        out["pending"] = pending_turns(latest, sidecar)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: upstream_reader.py <sessionsDir>", file=sys.stderr)
        return 2
    groups, skipped = discover(Path(argv[1]))
    root = Path(argv[1])
    result = {"sessions": {sid: audit_session(shards, root / f"{sid}.json") for sid, shards in groups.items()}, "skipped": skipped}
    sys.stdout.write(json.dumps(result, ensure_ascii=True))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
