"""Encrypt secrets at rest (migration credentials) with a Fernet key derived from ``Settings.secret_key``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

# A fixed context string keeps this key distinct from anything else derived from the same secret.
_CONTEXT = b"supportly-bridge/credentials/v1"


class DecryptionError(Exception):
    """The ciphertext was not made with this secret key (rotated key or tampered row)."""


def fernet(secret_key: str) -> Fernet:
    """Return the Fernet cipher for ``secret_key``."""
    digest = hashlib.pbkdf2_hmac("sha256", secret_key.encode(), _CONTEXT, 100_000)
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(secret_key: str, value: Any) -> str:
    """Serialise ``value`` as JSON and encrypt it; the result is printable ASCII."""
    return fernet(secret_key).encrypt(orjson.dumps(value)).decode("ascii")


def decrypt_json(secret_key: str, ciphertext: str) -> Any:
    """Decrypt what :func:`encrypt_json` produced with the same secret key."""
    try:
        return orjson.loads(fernet(secret_key).decrypt(ciphertext.encode("ascii")))
    except (InvalidToken, ValueError) as err:
        raise DecryptionError("the stored credentials cannot be decrypted with this secret key") from err
