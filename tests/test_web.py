"""The web app (frontend/): typecheck, unit tests, the typed client, the size
budget, and the end-to-end suite in headless Chromium against real servers.

The end-to-end run starts what production runs — uvicorn (HTTP + WebSocket),
a Celery worker and beat — against the test database and Redis, then runs
Playwright (`frontend/tests/e2e`). Node comes from scripts/_web.sh (sourced by
scripts/test.sh); Chromium is Debian's package, installed here when missing.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from todo_project.testing import database_url, free_port

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
DIST = FRONTEND / "dist"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Initial JavaScript (the entry and what index.html preloads), gzipped.
JS_BUDGET_BYTES = 150 * 1024

pytestmark = pytest.mark.slow


def _run(cmd: list[str], *, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed commands
        cmd, cwd=FRONTEND, capture_output=True, text=True, timeout=timeout, env=env or os.environ.copy()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(cmd)} failed ({result.returncode}):\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def npx() -> str:
    found = shutil.which("npx")
    if not found or not (FRONTEND / "node_modules").is_dir():
        pytest.fail("Node and frontend/node_modules are needed: run the tests through scripts/test.sh.")
    return found


@pytest.fixture(scope="module")
def built(npx: str) -> Path:
    """frontend/dist, rebuilt unless it matches the sources (scripts/_web.sh)."""
    subprocess.run(  # noqa: S603
        ["bash", "-c", "source scripts/_web.sh && web_build"],  # noqa: S607
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    return DIST


def test_it_typechecks(npx: str) -> None:
    _run([npx, "tsc", "--noEmit", "-p", "tsconfig.json"])


def test_its_unit_tests_pass(npx: str) -> None:
    _run([npx, "vitest", "run"])


def test_the_generated_api_types_match_the_current_schema(npx: str, tmp_path: Path) -> None:
    schema = tmp_path / "openapi.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema))
    generated = tmp_path / "schema.d.ts"
    _run([npx, "openapi-typescript", str(schema), "-o", str(generated)])
    committed = (FRONTEND / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, (
        "frontend/src/api/schema.d.ts is out of date: run `npm run api:generate` in frontend/ "
        "(see frontend/README.md)."
    )


def _initial_scripts(index_html: str) -> list[str]:
    srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', index_html)
    preloads = re.findall(r'<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"', index_html)
    return srcs + preloads


def test_the_initial_javascript_fits_the_budget(built: Path) -> None:
    index = (built / "index.html").read_text()
    scripts = _initial_scripts(index)
    assert scripts, "index.html loads no script"
    sizes = {src: len(gzip.compress((built / src.lstrip("/")).read_bytes(), 9)) for src in scripts}
    total = sum(sizes.values())
    assert total <= JS_BUDGET_BYTES, f"initial JS is {total / 1024:.1f} KiB gzipped (> 150): {sizes}"


def test_the_page_needs_no_inline_script_or_style(built: Path) -> None:
    """So it runs under `script-src 'self'; style-src 'self'`."""
    index = (built / "index.html").read_text()
    for match in re.finditer(r"<script([^>]*)>(.*?)</script>", index, re.S):
        snippet = match.group(0)[:200]
        assert "src=" in match.group(1), f"inline script: {snippet}"
        assert not match.group(2).strip(), f"inline script: {snippet}"
    assert "<style" not in index
    assert " style=" not in index


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (as root).")
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)  # noqa: S607
        subprocess.run(  # noqa: S603
            ["apt-get", "install", "-y", "-qq", "chromium"],  # noqa: S607
            check=True,
            timeout=1200,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    return CHROMIUM


@dataclass
class LocalPush:
    service: Any  # notifications_app.tests.push_service.PushService
    mailbox_url: str


@pytest.fixture
def push_service() -> Iterator[LocalPush]:
    """The local Web Push service (RFC 8030/8291/8292 over TLS, notifications_app/tests),
    with a mailbox on plain HTTP where the browser's side reads what reached it.

    Headless Chromium has no push service of its own; the e2e test hands the page
    this service's subscription and carries each decrypted message on into the
    service worker (DevTools protocol), as a push service's connection would.
    """
    from notifications_app.tests.push_service import serve_push
    from todo_project.testing import serving

    with serve_push() as service:

        class Mailbox(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = json.dumps([d.message for d in service.delivered()]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        mailbox = ThreadingHTTPServer(("127.0.0.1", 0), Mailbox)
        with serving(mailbox):
            yield LocalPush(service, f"http://127.0.0.1:{mailbox.server_address[1]}/")


@pytest.fixture
def backend(transactional_db, built: Path, tmp_path: Path, push_service: LocalPush) -> Iterator[str]:
    """uvicorn + Celery worker + beat on the test database; answers the base URL."""
    port = free_port()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url(dict(db)),
        "REDIS_URL": settings.REDIS_URL,
        "JWT_PRIVATE_KEY": settings.JWT_PRIVATE_KEY,
        "JWT_PUBLIC_KEY": settings.JWT_PUBLIC_KEY,
        "DATABASE_POOL_MAX_SIZE": "4",
        "LOG_LEVEL": "WARNING",
        "REMINDER_SCAN_SECONDS": "1",
        # Registration and two logins per test, a handful of tests.
        "THROTTLE_AUTH_RATE": "200/min",
        # Web Push goes to the local push service on 127.0.0.1, trusted through its CA only.
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "SSL_CERT_FILE": push_service.service.ca_file,
        "WEB_PUSH_TIMEOUT_SECONDS": "3",
    }
    env.pop("DATABASE_TEST_NAME", None)
    python = sys.executable
    commands = {
        "web": [python, "-m", "uvicorn", "todo_project.asgi:application", "--host", "127.0.0.1"]
        + ["--port", str(port), "--lifespan", "off", "--no-access-log"],
        "worker": [python, "-m", "celery", "-A", "todo_project", "worker", "--pool", "solo"]
        + ["--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        "beat": [python, "-m", "celery", "-A", "todo_project", "beat", "--loglevel", "WARNING"]
        + ["--schedule", str(tmp_path / "beat-schedule")],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in commands}
    try:
        for name, cmd in commands.items():
            processes[name] = subprocess.Popen(  # noqa: S603
                cmd, cwd=ROOT, env=env, stdout=logs[name], stderr=subprocess.STDOUT
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if processes["web"].poll() is not None or time.monotonic() > deadline:
                pytest.fail("uvicorn did not start:\n" + (tmp_path / "web.log").read_text()[-4000:])
            time.sleep(0.3)
        yield base
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs.values():
            log.close()


LONG_LIST = 10_000


def _seed_long_list() -> tuple[str, str]:
    """A user with 10,000 open tasks, for the virtualised-list measurement.

    Fixture data: inserted in bulk, without events (nothing is listening yet).
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from tasks_app.models import Task
    from tasks_app.projects.services import inbox_ensure
    from todo_project.accounts.models import Profile

    password = "long-List-password-9"  # noqa: S105 - test account
    user = get_user_model().objects.create_user(username="longlist", email="long@example.com")
    # The servers under test hash with the production hashers, not the test
    # suite's fast one (the root conftest's override stays in this process).
    user.password = PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt())
    user.save(update_fields=["password"])
    Profile.objects.create(user=user, timezone="UTC")
    inbox = inbox_ensure(user_id=user.pk)
    priorities = ["high", "medium", "low"]
    Task.objects.bulk_create(
        [
            Task(
                owner=user,
                title=f"Long list task {i:05d}",
                priority=priorities[i % 3],
                tags=["bulk"] if i % 2 else [],
                tag_keys=["bulk"] if i % 2 else [],
                position=i + 1,
                project_id=inbox,
            )
            for i in range(LONG_LIST)
        ],
        batch_size=2000,
    )
    return user.username, password


def test_the_end_to_end_suite_passes_in_chromium(npx: str, backend: str, push_service: LocalPush) -> None:
    username, password = _seed_long_list()
    env = {
        **os.environ,
        "TASKBEAT_E2E_URL": backend,
        "CHROMIUM_PATH": _chromium(),
        "TASKBEAT_E2E_LONG_USER": username,
        "TASKBEAT_E2E_LONG_PASSWORD": password,
        "TASKBEAT_E2E_PUSH_SUBSCRIPTION": json.dumps(push_service.service.browser().subscription_json()),
        "TASKBEAT_E2E_PUSH_MAILBOX": push_service.mailbox_url,
    }
    output = _run([npx, "playwright", "test"], env=env, timeout=1500)
    print(output[-3000:])  # noqa: T201 - the run's summary in pytest's -rA output
    results = FRONTEND / "test-results"
    for name in ("live-sync", "live-sync-edits", "long-list", "reminder"):
        path = results / f"{name}.json"
        if path.exists():
            print(name, json.loads(path.read_text()))  # noqa: T201
