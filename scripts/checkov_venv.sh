#!/usr/bin/env bash
# checkov in .venv-checkov (its pins conflict with pytest's), reinstalled only
# when requirements-checkov.txt changes. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-checkov/bin/python ]; then
  "$PYTHON" -m venv .venv-checkov
fi
stamp=.venv-checkov/.requirements-stamp
want=$(sha256sum requirements-checkov.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x .venv-checkov/bin/checkov ]; then
  echo "Installing checkov into .venv-checkov ..." >&2
  .venv-checkov/bin/python -m pip install --quiet --upgrade pip >&2
  .venv-checkov/bin/python -m pip install --quiet -r requirements-checkov.txt >&2
  echo "$want" > "$stamp"
fi
