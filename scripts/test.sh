#!/usr/bin/env bash
# Install everything and run lint, the import layering contract, the type checker and
# the whole test suite (the web app's included).
# Uses DATABASE_URL / REDIS_URL when set; otherwise embedded PostgreSQL and Redis.
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# checkov (tests/test_chart.py) in a virtualenv of its own: its pins clash with pytest's.
bash scripts/checkov_venv.sh
source scripts/_web.sh
# tests/test_web.py builds the app and runs its typecheck, unit and browser tests.
export DEBUG="${DEBUG:-true}"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# No import from a lower layer into a higher one (pyproject.toml [tool.importlinter]).
.venv/bin/lint-imports --no-cache
# Types (pyproject.toml [tool.mypy]). The Django plugin imports the settings,
# which insist on both URLs; mypy connects to neither.
DATABASE_URL="${DATABASE_URL:-postgres://mypy@127.0.0.1:1/unused}" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:1/0}" \
  .venv/bin/mypy .
exec .venv/bin/python -m todo_project.embedded -- .venv/bin/python -m pytest "$@"
