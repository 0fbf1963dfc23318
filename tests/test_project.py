from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_it_has_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_health_answers_without_dependencies(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_checks_postgres_and_redis(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_ready_names_the_failed_dependency(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "todo_project.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_an_insecure_secret_and_missing_keys():
    result = _settings_import(
        {"DEBUG": "false", "DATABASE_URL": "postgres://x@localhost/x", "REDIS_URL": "redis://localhost"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "JWT_PRIVATE_KEY" in result.stderr


def test_production_starts_with_real_secrets(tmp_path):
    from todo_project.keys import load_or_create_local_keypair

    private, public = load_or_create_local_keypair(tmp_path)
    result = _settings_import(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "JWT_PRIVATE_KEY": private,
            "JWT_PUBLIC_KEY": public,
            "DATABASE_URL": "postgres://x@localhost/x",
            "REDIS_URL": "redis://localhost",
        }
    )
    assert result.returncode == 0, result.stderr


def test_settings_refuse_a_non_postgres_database():
    result = _settings_import({"DEBUG": "true", "DATABASE_URL": "sqlite:///x.db", "REDIS_URL": "redis://x"})
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_env_example_lists_every_setting_read_from_the_environment():
    import re

    read = set(
        re.findall(
            r'env_(?:str|bool|int_list|int|float|list)\(\s*"([A-Z0-9_]+)"',
            (BASE_DIR / "todo_project/settings.py").read_text(),
        )
    )
    documented = set(
        re.findall(r"^#?\s*([A-Z0-9_]+?)(?:_FILE)?=", (BASE_DIR / ".env.example").read_text(), re.M)
    )
    assert read - documented == set()


def test_the_openapi_schema_generates_without_errors_or_warnings(tmp_path):
    # --fail-on-warn makes drf-spectacular exit non-zero on any view it cannot
    # describe (e.g. a missing response serializer), so the schema stays accurate.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    assert "/api/tasks/{task_id}/series" in schema
    assert "name: Idempotency-Key" in schema


@pytest.mark.django_db
def test_the_schema_and_the_docs_are_served(admin_client):
    assert admin_client.get("/api/schema/").status_code == 200
    assert admin_client.get("/api/docs/").status_code == 200
