"""Signed checkpoints: an Ed25519 signature over (sequence number, chain hash, time).

The store signs its head (the latest record) on every append and writes a
lasting checkpoint every so many records and before every prune. A signature
makes truncating the newest records, or rewriting the whole chain, detectable
by anyone holding the public key. The private key lives in the state folder
(``audit-signing-key``, mode 0600); in production keep it apart from the
database's administrators, since whoever holds both can rewrite history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gateway.audit.keyfile import read_or_create

KEY_FILE = "audit-signing-key"
_DOMAIN = b"joinedup-audit-checkpoint/v1\n"


# head: the newest record (re-signed on every append); periodic: a lasting anchor every
# so many records; prune: where retention cut the chain (the oldest retained record
# links to it).
CheckpointKind = Literal["head", "periodic", "prune"]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain's record ``seq`` had hash ``row_hash`` at ``signed_at``."""

    kind: CheckpointKind
    seq: int
    row_hash: str
    signed_at: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        return statement(self.kind, self.seq, self.row_hash, self.signed_at)


def statement(kind: CheckpointKind, seq: int, row_hash: str, signed_at: str) -> bytes:
    return _DOMAIN + f"{kind}\n{seq}\n{row_hash}\n{signed_at}".encode()


class CheckpointSigner:
    """Signs and verifies checkpoints with the state folder's audit key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def from_state_dir(cls, state_dir: Path) -> CheckpointSigner:
        """Load the key, creating it (private to this user) on first use."""
        path = state_dir / KEY_FILE
        pem = read_or_create(
            path,
            lambda: Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def sign(self, kind: CheckpointKind, seq: int, row_hash: str, signed_at: str) -> Checkpoint:
        signature = self._private.sign(statement(kind, seq, row_hash, signed_at)).hex()
        return Checkpoint(kind, seq, row_hash, signed_at, self.key_id, signature)

    def valid(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.key_id != self.key_id:
            return False
        try:
            self.public_key.verify(bytes.fromhex(checkpoint.signature), checkpoint.statement())
        except (InvalidSignature, ValueError):
            return False
        return True
