"""Signing keys: from the environment, or generated for local use.

Two kinds: the RS256 pair that signs JWTs, and the P-256 key that signs
VAPID tokens for Web Push (RFC 8292). Both are generated into
``TASKBEAT_DATA_DIR`` only when DEBUG is on and none is configured, so a
fresh checkout works; production refuses to start without real ones.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def _write_once(path: Path, data: bytes, *, private: bool) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    if private:
        tmp.chmod(0o600)
    # Rename last: a concurrent reader sees either no key or a whole one.
    tmp.replace(path)


def load_or_create_local_keypair(folder: Path) -> tuple[str, str]:
    """Return (private PEM, public PEM), generating a 2048-bit RSA pair once.

    Only used when DEBUG is on and no keys are configured, so a fresh
    checkout can log in; production refuses to start without real keys.
    """
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / "jwt_private.pem"
    public_path = folder / "jwt_public.pem"
    if not private_path.exists() or not public_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        _write_once(private_path, _pkcs8_pem(key), private=True)
    return private_path.read_text(), public_path.read_text()


def _pkcs8_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# --- VAPID (Web Push) ---------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (what browsers and VAPID tools print); raises ValueError."""
    cleaned = text.strip()
    if not cleaned or any(c not in _B64URL for c in cleaned):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def vapid_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """Parse a VAPID private key as the usual tools print it; raises ValueError.

    Accepted: PEM (PKCS#8 or SEC 1, what ``openssl ecparam`` and py-vapid's
    ``vapid --gen`` write) or the unpadded base64url 32-byte scalar (what
    ``web-push generate-vapid-keys`` prints). The curve must be P-256.
    """
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(stripped.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the PEM key is not a P-256 (prime256v1) EC key")
        return key
    raw = b64url_decode(stripped)
    if len(raw) != 32:
        raise ValueError("a raw key must be 32 bytes, base64url-encoded")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def vapid_public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key browsers want: the uncompressed point, base64url (65 bytes)."""
    return b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def load_or_create_local_vapid_key(folder: Path) -> str:
    """Return the PEM of a P-256 key generated once under ``folder`` (DEBUG only)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vapid_private.pem"
    if not path.exists():
        _write_once(path, _pkcs8_pem(ec.generate_private_key(ec.SECP256R1())), private=True)
    return path.read_text()
