"""Web Push settings: off without a key, refused in production when asked for without one, a
development key generated once, key formats the usual tools print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from todo_project.keys import b64url, load_or_create_local_keypair, vapid_public_key

BASE_DIR = Path(__file__).resolve().parents[2]
_PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.WEB_PUSH_ENABLED, s.VAPID_PUBLIC_KEY or '-', s.VAPID_SUBJECT or '-')"
)


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PRINT],
        cwd=BASE_DIR,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "todo_project.settings",
            "DATABASE_URL": "postgres://x@localhost/x",
            "REDIS_URL": "redis://localhost",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def _production(tmp_path: Path, **env: str) -> dict[str, str]:
    private, public = load_or_create_local_keypair(tmp_path / "jwt")
    return {
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
        "JWT_PRIVATE_KEY": private,
        "JWT_PUBLIC_KEY": public,
        "TASKBEAT_DATA_DIR": str(tmp_path / "data"),
        **env,
    }


def _raw_private(key: ec.EllipticCurvePrivateKey) -> str:
    """The private key as ``web-push generate-vapid-keys`` prints it."""
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def test_production_without_a_vapid_key_starts_with_push_off(tmp_path):
    result = _start(_production(tmp_path))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "-", "-"]


def test_production_refuses_push_enabled_without_its_key(tmp_path):
    result = _start(_production(tmp_path, WEB_PUSH_ENABLED="true"))

    assert result.returncode != 0
    assert "VAPID_PRIVATE_KEY and VAPID_SUBJECT" in result.stderr


def test_production_refuses_a_key_without_a_subject(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    result = _start(_production(tmp_path, VAPID_PRIVATE_KEY=_raw_private(key)))

    assert result.returncode != 0
    assert "VAPID_SUBJECT" in result.stderr


def test_production_takes_a_raw_or_pem_key_from_a_file_and_derives_the_public_key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "vapid.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    subject = "mailto:ops@taskbeat.example"
    for given in ({"VAPID_PRIVATE_KEY_FILE": str(pem)}, {"VAPID_PRIVATE_KEY": _raw_private(key)}):
        result = _start(
            _production(tmp_path, VAPID_SUBJECT=subject, VAPID_PUBLIC_KEY=vapid_public_key(key), **given)
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", vapid_public_key(key), subject]


def test_a_public_key_of_another_pair_or_a_bad_subject_is_refused(tmp_path):
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    base = {"VAPID_PRIVATE_KEY": _raw_private(key), "VAPID_SUBJECT": "mailto:ops@taskbeat.example"}

    mismatch = _start(_production(tmp_path, **base, VAPID_PUBLIC_KEY=vapid_public_key(other)))
    assert mismatch.returncode != 0
    assert "does not belong to VAPID_PRIVATE_KEY" in mismatch.stderr

    bad_subject = _start(_production(tmp_path, **{**base, "VAPID_SUBJECT": "ops@taskbeat.example"}))
    assert bad_subject.returncode != 0
    assert "mailto: or https:" in bad_subject.stderr

    bad_key = _start(_production(tmp_path, **{**base, "VAPID_PRIVATE_KEY": "c2hvcnQ"}))
    assert bad_key.returncode != 0
    assert "not a P-256 key" in bad_key.stderr


def test_development_generates_one_key_and_keeps_it(tmp_path):
    env = {"DEBUG": "true", "TASKBEAT_DATA_DIR": str(tmp_path)}

    first, second = _start(env), _start(env)

    assert first.returncode == 0, first.stderr
    enabled, public, subject = first.stdout.split()
    assert (enabled, subject) == ("True", "mailto:reminders@taskbeat.local")
    assert second.stdout.split()[1] == public  # browsers' subscriptions survive a restart
    assert (tmp_path / "vapid" / "vapid_private.pem").stat().st_mode & 0o077 == 0
