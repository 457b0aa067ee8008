"""Validates training-data exports the way their consumers read them.

Usage: python validate_export.py SPEC.json

SPEC: {"tokenizer_dir": str, "files": [{"format": str, "path": str, "min_examples": int,
       "expect_failure"?: str}], "forbidden": [str]}  -- texts of rejected answers that must never
       be trained on; a file with "expect_failure" is a known-bad control: it must fail with that text.

For each file: load it with Hugging Face `datasets` (json builder), check its columns, run TRL's
own data utilities (`is_conversational`, `maybe_apply_chat_template`, `unpair_preference_dataset`,
`maybe_extract_prompt`), and render every example with a chat template through `transformers`
(a small tokenizer the test writes, with tool-call support). OpenAI formats are checked against
OpenAI's documented shapes and rendered too. Prints one JSON report; exit 1 on any failure.
"""

import json
import sys

from datasets import load_dataset
from transformers import AutoTokenizer
from trl.data_utils import is_conversational, maybe_apply_chat_template, maybe_extract_prompt, unpair_preference_dataset

COLUMNS = {
    "sft": {"prompt", "completion"},
    "sft-messages": {"messages"},
    "kto": {"prompt", "completion", "label"},
    "dpo": {"prompt", "chosen", "rejected"},
    "openai-sft": {"messages"},
    "openai-dpo": {"input", "preferred_output", "non_preferred_output"},
}

failures = []
report = {}


def fail(fmt, i, msg):
    failures.append(f"{fmt} example {i}: {msg}")


def texts(msgs):
    return [m.get("content") or "" for m in msgs]


def no_forbidden(fmt, i, where, msgs, forbidden):
    for t in texts(msgs):
        for f in forbidden:
            if f in t:
                fail(fmt, i, f"rejected answer {f!r} would be trained on ({where})")


def strip_none(m):
    # Arrow fills fields a row lacks with None; OpenAI's shape has no such keys.
    return {k: v for k, v in m.items() if v is not None}


def main():
    spec = json.load(open(sys.argv[1]))
    tok = AutoTokenizer.from_pretrained(spec["tokenizer_dir"])
    forbidden = spec.get("forbidden", [])
    for f in spec["files"]:
        before = len(failures)
        check_file(f, tok, forbidden)
        if "expect_failure" in f:
            mine = failures[before:]
            del failures[before:]
            if not any(f["expect_failure"] in m for m in mine):
                failures.append(f"control {f['path']}: expected a failure with {f['expect_failure']!r}, got {mine}")
            report["control"] = {"failures": mine}
    print(json.dumps({"ok": not failures, "report": report, "failures": failures}))
    sys.exit(1 if failures else 0)


def check_file(f, tok, forbidden):
    if True:
        fmt, path = f["format"], f["path"]
        ds = load_dataset("json", data_files=path, split="train")
        cols = set(ds.column_names)
        if cols != COLUMNS[fmt]:
            fail(fmt, -1, f"columns {sorted(cols)} != {sorted(COLUMNS[fmt])}")
            return
        if len(ds) < f.get("min_examples", 1):
            fail(fmt, -1, f"{len(ds)} examples, expected at least {f['min_examples']}")
        rendered = 0
        for i, ex in enumerate(ds):
            if fmt.startswith("openai"):
                if fmt == "openai-sft":
                    msgs = ex["messages"]
                    weights = [m.get("weight") for m in msgs if m["role"] == "assistant"]
                    if any(w not in (0, 1) for w in weights) or 1 not in weights:
                        fail(fmt, i, f"assistant weights {weights}")
                    if any(m.get("weight") is not None for m in msgs if m["role"] != "assistant"):
                        fail(fmt, i, "weight on a non-assistant message")
                    no_forbidden(fmt, i, "messages", msgs, forbidden)
                    conv = [{k: v for k, v in strip_none(m).items() if k != "weight"} for m in msgs]
                else:
                    inp = ex["input"]
                    if set(k for k, v in inp.items() if v is not None) - {"messages", "tools", "parallel_tool_calls"}:
                        fail(fmt, i, f"input keys {sorted(inp)}")
                    for side in ("preferred_output", "non_preferred_output"):
                        if len(ex[side]) != 1 or ex[side][0]["role"] != "assistant":
                            fail(fmt, i, f"{side} is not one assistant message")
                    no_forbidden(fmt, i, "input", inp["messages"], forbidden)
                    no_forbidden(fmt, i, "preferred_output", ex["preferred_output"], forbidden)
                    conv = [strip_none(m) for m in inp["messages"] + ex["preferred_output"]]
                out = tok.apply_chat_template(conv, tokenize=False)
                if conv[-1]["content"] not in out:
                    fail(fmt, i, "rendered text lacks the answer")
                rendered += 1
                continue
            if not is_conversational(ex):
                fail(fmt, i, "TRL does not see a conversational example")
            if fmt == "sft":
                no_forbidden(fmt, i, "completion", ex["completion"], forbidden)
            elif fmt == "sft-messages":
                no_forbidden(fmt, i, "messages", ex["messages"], forbidden)
            elif fmt == "kto":
                no_forbidden(fmt, i, "prompt", ex["prompt"], forbidden)
                if ex["label"]:
                    no_forbidden(fmt, i, "completion with label true", ex["completion"], forbidden)
            elif fmt == "dpo":
                no_forbidden(fmt, i, "prompt", ex["prompt"], forbidden)
                no_forbidden(fmt, i, "chosen", ex["chosen"], forbidden)
            out = maybe_apply_chat_template(ex, tok)
            if fmt == "sft-messages":
                if ex["messages"][-1]["content"] not in out["text"]:
                    fail(fmt, i, "rendered text lacks the answer")
            else:
                if "prompt" not in out or not out["prompt"].rstrip().endswith("<|im_start|>assistant"):
                    fail(fmt, i, f"prompt does not end with the generation prompt: {out.get('prompt', '')[-40:]!r}")
                key = "completion" if "completion" in out else "chosen"
                if ex[key][-1]["content"] not in out[key]:
                    fail(fmt, i, f"rendered {key} lacks the answer")
            rendered += 1
        if fmt == "dpo" and len(ds):
            # TRL's own conversions: implicit-prompt extraction and unpairing into KTO rows.
            unpaired = unpair_preference_dataset(ds)
            if len(unpaired) != 2 * len(ds) or set(unpaired.column_names) != {"prompt", "completion", "label"}:
                fail(fmt, -1, f"unpair_preference_dataset gave {len(unpaired)} rows, columns {unpaired.column_names}")
            implicit = {"chosen": ds[0]["prompt"] + ds[0]["chosen"], "rejected": ds[0]["prompt"] + ds[0]["rejected"]}
            if maybe_extract_prompt(implicit)["prompt"] != ds[0]["prompt"]:
                fail(fmt, 0, "maybe_extract_prompt does not recover the prompt")
        if "expect_failure" not in f:
            report[fmt] = {"examples": len(ds), "rendered": rendered}


if __name__ == "__main__":
    main()
