"""The master key that seals key material, wrapping private keys and access-key secrets at rest."""

from __future__ import annotations

import base64
import functools

from django.conf import settings

from keys import crypto


@functools.cache
def master_key() -> crypto.MasterKey:
    """The master key from CONSOLECLONE_MASTER_KEY or the data folder's master.key (base64, 32 bytes)."""
    return crypto.MasterKey(base64.b64decode(settings.KMS_MASTER_KEY))


def seal(plaintext: bytes, *, context: str) -> bytes:
    return crypto.seal(master_key(), plaintext, context=context)


def unseal(sealed: bytes, *, context: str) -> bytes:
    return crypto.unseal(master_key(), bytes(sealed), context=context)
