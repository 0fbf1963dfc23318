"""JWT signing keys: from the environment, or generated for local use."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


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
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        tmp_private = private_path.with_suffix(".tmp")
        tmp_private.write_bytes(private_pem)
        tmp_private.chmod(0o600)
        public_path.write_bytes(public_pem)
        # Rename last: a concurrent reader sees either no key or a whole one.
        tmp_private.replace(private_path)
    return private_path.read_text(), public_path.read_text()
