"""``manage.py dev``: the whole system in one terminal, for development.

Runs migrations, ensures a demo user, then supervises the processes that
production runs separately: the ASGI server (HTTP and WebSocket on one port,
for convenience), a Celery worker, Celery beat and, when Kafka is configured,
the bridge. Ctrl-C stops them all; if one dies, the others are stopped too.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - development-only demo account


class Command(BaseCommand):
    help = "Run web (ASGI), worker, beat and, if configured, the Kafka bridge."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo-user", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=1)
        if not options["no_demo_user"]:
            if not settings.DEBUG:
                raise CommandError("The demo user exists only with DEBUG on; pass --no-demo-user.")
            self._ensure_demo_user()

        python = sys.executable
        host, port = options["host"], options["port"]
        commands = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "todo_project.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--lifespan",
                "off",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "todo_project",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "todo_project",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        }
        if settings.KAFKA_BOOTSTRAP_SERVERS:
            commands["bridge"] = [python, "manage.py", "kafka_bridge"]

        processes = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        base = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nTaskbeat is running: {base}/\n"
                f"  API docs:  {base}/api/docs/\n"
                f"  Admin:     {base}/admin/\n"
                f"  WebSocket: ws://{host}:{port}/ws/tasks/\n"
                f"  Log in as {DEMO_USERNAME!r} with password {DEMO_PASSWORD!r} "
                f"(POST {base}/api/auth/login for a JWT).\n"
                f"  Processes: {', '.join(processes)}. Ctrl-C stops everything.\n"
            )
        )

        stopping = False

        def stop(_signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with {process.returncode}; stopping the rest.")
                    exit_code = process.returncode or 1
                    stopping = True
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        if exit_code:
            raise SystemExit(exit_code)

    def _ensure_demo_user(self) -> None:
        from django.contrib.auth import get_user_model

        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={"email": "demo@example.com", "is_staff": True, "is_superuser": True},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
