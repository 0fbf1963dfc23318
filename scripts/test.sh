#!/usr/bin/env bash
# Install everything and run lint plus the whole test suite.
# Uses DATABASE_URL / REDIS_URL when set; otherwise embedded PostgreSQL and Redis.
cd "$(dirname "$0")/.."
source scripts/_venv.sh
export DEBUG="${DEBUG:-true}"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m todo_project.embedded -- .venv/bin/python -m pytest "$@"
