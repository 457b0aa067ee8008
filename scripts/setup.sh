#!/usr/bin/env bash
# Sets up a fresh Debian machine for Bot Memory Auditor: the Debian packages (chromium for the
# VS Code web workbench, with CJK and emoji fonts so its screenshots show the demo's text;
# compilers and -dev headers for code-server's native modules; ripgrep for VS Code's search),
# then the npm packages (`npm ci`). Idempotent and quiet when done.
# VS Code itself (code-server's VS Code 1.139.1 server, with Node 24) is installed on first use
# by `npm start` / `npm test` into ~/.cache/bot-memory-auditor.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium fonts-droid-fallback fonts-noto-color-emoji libkrb5-dev libxkbfile-dev libsecret-1-dev ripgrep build-essential python3 pkg-config)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "[setup] apt-get install ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${missing[@]}"
fi

if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "[setup] npm ci"
    npm ci --no-audit --no-fund
  fi
else
  npm install --no-audit --no-fund
fi
# Python for the export validation test (datasets, TRL, transformers; venv in ~/.cache).
bash scripts/setup-python.sh
echo "[setup] ready"
