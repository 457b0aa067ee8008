#!/usr/bin/env python3
"""Drive hermes-webui's OWN writer code (api/turn_journal.py, api/run_journal.py) to build a
sessions folder, so tests see the bytes upstream really writes, damage included.

    python3 upstream_writer.py <upstream_src_dir> <session_dir>   < script.json > result.json

``upstream_src_dir`` holds ``api/turn_journal.py`` and ``api/run_journal.py`` from the
upstream mirror (test/support/upstreamPython.ts extracts them; nothing of upstream is kept in
this repository). The script is a JSON list of steps, run in order:

  {"op": "pid", "pid": 1}                      later journal appends come from this pid
  {"op": "clock", "t": 1763600000.5}           time.time() returns this, advancing 1 ms per call
                                               (turn ids use this clock and a counter for uuid4)
  {"op": "turn", "sid": .., "event": {..}}     append_turn_journal_event (a `submitted`)
  {"op": "stream", "sid": .., "stream_id": .., "event": {..}}
        append_turn_journal_event_for_stream, wrapped like upstream's streaming code: an
        exception (its reader raising on invalid UTF-8) is caught and the event is NOT written
  {"op": "run", "sid": .., "run_id": .., "event": "token", "payload": {..}}   append_run_event
  {"op": "torn", "sid": .., "event": {..}, "keep": 0.5, "split_char": false}
        a SIGKILL during append: the prefix of the line upstream would write (`keep` of its bytes;
        `split_char` cuts the last multi-byte character before the cut after its lead byte) lands in the current pid's shard
  {"op": "sidecar", "sid": .., "session": {..}}   <sid>.json as Session.save writes it (indent=2)
  {"op": "bak", "sid": .., "session": {..}}       <sid>.json.bak (a save that shrank messages)
  {"op": "index", "entries": [..]}                _index.json (indent=2)

The result lists, per step, what upstream returned (the event written, or the exception that
made upstream drop it).
"""
import json
import os
import sys
import time
import uuid
from pathlib import Path


def main() -> int:
    src, session_dir = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, src)
    import api.turn_journal as tj  # noqa: E402
    import api.run_journal as rj  # noqa: E402

    clock = {"t": time.time()}
    pid = {"pid": os.getpid()}

    def fake_time() -> float:
        clock["t"] += 0.001
        return clock["t"]

    real_gmtime = time.gmtime
    ids = {"n": 0}

    def fake_uuid4():
        # Deterministic ids, so a byte-exact model of the writer can be compared with it:
        # the n-th id's first 12 hex digits are n.
        ids["n"] += 1
        return uuid.UUID(hex="%012x" % ids["n"] + "4" + "0" * 19)

    tj.time.time = fake_time  # the same `time` module run_journal uses
    tj.time.gmtime = lambda secs=None: real_gmtime(clock["t"] if secs is None else secs)
    tj.uuid.uuid4 = fake_uuid4
    tj.os.getpid = lambda: pid["pid"]

    steps = json.load(sys.stdin)
    out = []
    session_dir.mkdir(parents=True, exist_ok=True)
    for step in steps:
        op = step["op"]
        res: dict = {"op": op}
        if op == "pid":
            pid["pid"] = int(step["pid"])
        elif op == "clock":
            clock["t"] = float(step["t"])
        elif op == "turn":
            res["written"] = tj.append_turn_journal_event(step["sid"], step["event"], session_dir=session_dir)
        elif op == "stream":
            try:
                res["written"] = tj.append_turn_journal_event_for_stream(
                    step["sid"], step["stream_id"], step["event"], session_dir=session_dir
                )
            except Exception as exc:  # upstream's streaming code logs and goes on
                res["dropped"] = type(exc).__name__
        elif op == "run":
            res["written"] = rj.append_run_event(
                step["sid"], step["run_id"], step["event"], step.get("payload") or {}, session_dir=session_dir
            )
        elif op == "torn":
            payload = dict(step["event"])
            payload.setdefault("version", 1)
            payload["session_id"] = step["sid"]
            payload.setdefault("turn_id", tj._make_turn_id())
            payload.setdefault("created_at", time.time())
            if payload.get("event") in ("completed", "interrupted"):
                payload.setdefault("terminal", True)
            data = (json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            cut = max(1, int(len(data) * float(step.get("keep", 0.5))))
            if step.get("split_char"):
                # move the cut into the last multi-byte character before it: keep its lead byte only
                i = cut
                while i > 0 and data[i] < 0xC0:
                    i -= 1
                cut = i + 1 if data[i] >= 0xC0 else cut
            path = tj._journal_path(step["sid"], session_dir=session_dir)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
            try:
                os.write(fd, data[:cut])
            finally:
                os.close(fd)
            res["written"] = payload
            res["bytes"] = cut
        elif op in ("sidecar", "bak"):
            name = f"{step['sid']}.json" + (".bak" if op == "bak" else "")
            target = session_dir / name
            tmp = session_dir / (name + ".tmp")
            tmp.write_text(json.dumps(step["session"], ensure_ascii=False, indent=2), encoding="utf-8")
            os.replace(tmp, target)
        elif op == "index":
            (session_dir / "_index.json").write_text(json.dumps(step["entries"], ensure_ascii=False, indent=2), encoding="utf-8")
        else:
            raise SystemExit(f"unknown op {op}")
        out.append(res)
    json.dump(out, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
