"""API keys: who may call the service, with which roles, stored only as hashes.

A key is `cg_` + 256 random bits, shown once at creation. The service keeps its SHA-256 (a slow hash
such as scrypt buys nothing against a random 256-bit secret, and this check runs on every request)
and compares hashes with `hmac.compare_digest`, over every entry, so timing says nothing about which
entry came close. Keys live in `settings.api_keys_path` (JSON, mode 0600) and/or in the environment
`CHURNGUARD_API_KEYS="name:role,role:sha256hex;..."` for deployments that mount secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

ROLES: Final = ("score", "outreach", "admin")
KEY_PREFIX: Final = "cg_"
ENV_KEYS: Final = "CHURNGUARD_API_KEYS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class KeyStoreError(ValueError):
    """A key store or key definition that is wrong: says what and where."""


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: never the key itself, only its SHA-256."""

    name: str
    roles: tuple[str, ...]
    sha256: str
    created_at: str
    revoked_at: str | None = None
    source: str = "file"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, role: str) -> bool:
        """`admin` may do everything; other roles only what they name."""
        return self.active and (role in self.roles or "admin" in self.roles)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def parse_roles(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"score,outreach"` -> ("score", "outreach"); unknown roles are an error naming them."""
    items = text.split(",") if isinstance(text, str) else list(text)
    roles = tuple(dict.fromkeys(r.strip() for r in items if r.strip()))
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise KeyStoreError(
            f"roles {unknown or '(none)'} are not valid; expected some of {list(ROLES)}"
        )
    return roles


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise KeyStoreError(
            f"key name {name!r} is not valid: expected 1-64 letters, digits, '_', '.' or '-'"
        )
    return name


def parse_env_keys(text: str) -> list[ApiKey]:
    """Entries `name:role,role:sha256hex` separated by `;` (whitespace ignored)."""
    keys = []
    for position, entry in enumerate(filter(None, (e.strip() for e in text.split(";")))):
        parts = entry.split(":")
        if len(parts) != 3:
            raise KeyStoreError(
                f"{ENV_KEYS} entry {position + 1} has {len(parts)} ':'-separated parts; "
                "expected name:roles:sha256hex"
            )
        name, roles, digest = (p.strip() for p in parts)
        if not _HEX64.match(digest.lower()):
            raise KeyStoreError(
                f"{ENV_KEYS} entry {position + 1} ({name!r}): the hash must be 64 hex digits "
                "(sha256 of the key)"
            )
        keys.append(
            ApiKey(_check_name(name), parse_roles(roles), digest.lower(), "", None, source="env")
        )
    return keys


def read_key_file(path: Path) -> list[ApiKey]:
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
        return [ApiKey(**{**entry, "roles": tuple(entry["roles"])}) for entry in document["keys"]]
    except (ValueError, KeyError, TypeError) as error:
        raise KeyStoreError(
            f"{path} is not a churnguard key file ({error}); expected "
            '{"keys": [{"name", "roles", "sha256", "created_at", "revoked_at"}]}'
        ) from error


def write_key_file(path: Path, keys: Sequence[ApiKey]) -> None:
    """Replace the file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    entries = [{k: v for k, v in asdict(key).items() if k != "source"} for key in keys]
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"keys": entries}, handle, indent=2)
    os.replace(partial, path)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def create_key(path: Path, name: str, roles: str | Iterable[str]) -> tuple[str, ApiKey]:
    """Add a key named `name`; return the key (to show once) and what is stored."""
    keys = read_key_file(path)
    if any(k.name == name and k.active for k in keys):
        raise KeyStoreError(f"an active key named {name!r} exists in {path}; revoke it first")
    key = new_key()
    stored = ApiKey(_check_name(name), parse_roles(roles), hash_key(key), _now())
    write_key_file(path, [k for k in keys if k.name != name] + [stored])
    return key, stored


def revoke_key(path: Path, name: str) -> ApiKey:
    keys = read_key_file(path)
    match = [k for k in keys if k.name == name and k.active]
    if not match:
        raise KeyStoreError(f"no active key named {name!r} in {path}")
    revoked = replace(match[0], revoked_at=_now())
    write_key_file(path, [revoked if k is match[0] else k for k in keys])
    return revoked


def list_keys(path: Path, env_text: str | None = None) -> list[ApiKey]:
    return read_key_file(path) + (parse_env_keys(env_text) if env_text else [])


class KeyRing:
    """The keys the service accepts: re-read when the file changes, so a revocation applies at once."""

    def __init__(self, path: Path, env_text: str | None = None) -> None:
        self.path = path
        self._env_keys = parse_env_keys(env_text) if env_text else []
        self._stamp: tuple[int, int] | None = None
        self._keys: tuple[ApiKey, ...] = tuple(self._env_keys)

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            file_keys = read_key_file(self.path) if stamp else []
            self._keys = tuple(k for k in (*file_keys, *self._env_keys) if k.active)
            self._stamp = stamp

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key matching `presented`, or None; compares against every entry."""
        self._refresh()
        digest = hash_key(presented)
        found = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.sha256):
                found = key
        return found

    def __len__(self) -> int:
        self._refresh()
        return len(self._keys)
