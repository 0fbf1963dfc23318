#!/usr/bin/env bash
# Install everything and run the whole system (web + WebSocket, worker, beat).
# Uses DATABASE_URL / REDIS_URL when set; otherwise embedded PostgreSQL and Redis.
cd "$(dirname "$0")/.."
source scripts/_venv.sh
export DEBUG="${DEBUG:-true}"
exec .venv/bin/python -m todo_project.embedded -- .venv/bin/python manage.py dev "$@"
