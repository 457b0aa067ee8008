#!/usr/bin/env bash
# The Python the export tests read exports with (docs/feedback.md "Proof"): Hugging Face datasets,
# TRL, transformers (+ a CPU torch wheel TRL imports), in a venv under ~/.cache/bot-memory-auditor
# so re-runs are instant. pip reads this machine's package mirror from its own config
# (`pip config list`); nothing here names an index. Idempotent: a stamp of the requirements file.
set -euo pipefail
cd "$(dirname "$0")/.."
req=test/support/python-requirements.txt
venv="${BMA_PYTHON_VENV:-$HOME/.cache/bot-memory-auditor/pyvenv}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[setup] python venv for export validation: $venv"
python3 -m venv "$venv"
# No retries: an index this machine cannot reach is skipped at once, the mirror answers.
PIP_RETRIES=0 PIP_TIMEOUT=20 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
"$venv/bin/python" -c "import datasets, trl, transformers" 
echo "$want" >"$stamp"
