"""Credentials at rest: encrypted with a key derived from the secret key, unreadable with another key."""

from __future__ import annotations

import pytest

from bridge import crypto


def test_round_trip_and_ciphertext_hides_the_secret() -> None:
    secret = {"company": "acme", "auth_token": "sb-token-123456"}
    ciphertext = crypto.encrypt_json("key-one", secret)
    assert "sb-token-123456" not in ciphertext
    assert "acme" not in ciphertext
    assert crypto.decrypt_json("key-one", ciphertext) == secret


def test_another_secret_key_cannot_decrypt() -> None:
    ciphertext = crypto.encrypt_json("key-one", {"auth_token": "x"})
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json("key-two", ciphertext)


def test_tampered_ciphertext_is_refused() -> None:
    ciphertext = crypto.encrypt_json("key-one", {"auth_token": "x"})
    tampered = ciphertext[:-6] + ("A" if ciphertext[-6] != "A" else "B") + ciphertext[-5:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json("key-one", tampered)
