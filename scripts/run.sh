#!/usr/bin/env bash
# Install everything, build the web app, and run the whole system (web app + API +
# WebSocket, worker, beat).
# Uses DATABASE_URL / REDIS_URL when set; otherwise embedded PostgreSQL and Redis.
cd "$(dirname "$0")/.."
source scripts/_venv.sh
source scripts/_web.sh
web_build
export DEBUG="${DEBUG:-true}"
exec .venv/bin/python -m todo_project.embedded -- .venv/bin/python manage.py dev "$@"
