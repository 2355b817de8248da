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
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final

from common.files import private_dir, run_lock, write_text_atomically

# `supervisor` may move any agent's claim and act for another agent; `admin` may do everything.
ROLES: Final = ("score", "outreach", "supervisor", "admin")
KEY_PREFIX: Final = "cg_"
ENV_KEYS: Final = "CHURNGUARD_API_KEYS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class KeyStoreError(ValueError):
    """A key store or key definition that is wrong: says what and where."""


class KeyStoreUnavailable(KeyStoreError):
    """The service cannot read its keys file: no key can be checked, so keyed requests get 503."""


# Key changes wait this long for another change in progress before giving up.
KEY_CHANGE_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: never the key itself, only its SHA-256."""

    name: str
    roles: tuple[str, ...]
    sha256: str
    created_at: str
    revoked_at: str | None = None
    source: str = "file"
    teams: tuple[str, ...] = ()  # the outreach teams it may work; () = every team

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, role: str) -> bool:
        """`admin` may do everything, `supervisor` what `outreach` may; other roles what they name."""
        if not self.active:
            return False
        if "admin" in self.roles or role in self.roles:
            return True
        return role == "outreach" and "supervisor" in self.roles

    @property
    def supervises(self) -> bool:
        """May act for another agent and move someone else's claim."""
        return self.active and ("supervisor" in self.roles or "admin" in self.roles)

    def may_work(self, team: str) -> bool:
        return not self.teams or team in self.teams


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
        text = path.read_text()
    except OSError as error:
        raise KeyStoreError(f"{path} cannot be read ({error.strerror})") from error
    try:
        document = json.loads(text)
        return [
            ApiKey(
                **{**entry, "roles": tuple(entry["roles"]), "teams": tuple(entry.get("teams", ()))}
            )
            for entry in document["keys"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise KeyStoreError(
            f"{path} is not a churnguard key file ({error}); expected "
            '{"keys": [{"name", "roles", "sha256", "created_at", "revoked_at"}]}'
        ) from error


def write_key_file(path: Path, keys: Sequence[ApiKey]) -> None:
    """Replace the file atomically (a temporary file unique to this writer, then a rename),
    readable by its owner only."""
    private_dir(path.parent)
    entries = [{k: v for k, v in asdict(key).items() if k != "source"} for key in keys]
    write_text_atomically(path, json.dumps({"keys": entries}, indent=2), mode=0o600)


@contextmanager
def _changing(path: Path) -> Iterator[list[ApiKey]]:
    """Read-change-write under a lock: concurrent `keys create`/`revoke` never lose each other."""
    with run_lock(path.with_name(path.name + ".lock"), "key change", KEY_CHANGE_WAIT_SECONDS):
        yield read_key_file(path)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def parse_teams(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """`"retention,vip"` -> ("retention", "vip"); None or "" -> () (every team)."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    teams = tuple(dict.fromkeys(t.strip() for t in items if t.strip()))
    bad = [t for t in teams if not _NAME.match(t)]
    if bad:
        raise KeyStoreError(
            f"team names {bad} are not valid: expected letters, digits, '_', '.', '-'"
        )
    return teams


def create_key(
    path: Path, name: str, roles: str | Iterable[str], teams: str | Iterable[str] | None = None
) -> tuple[str, ApiKey]:
    """Add a key named `name` (limited to `teams` when given); return the key (to show once) and
    what is stored."""
    stored_roles = parse_roles(roles)
    stored_teams = parse_teams(teams)
    with _changing(path) as keys:
        if any(k.name == name and k.active for k in keys):
            raise KeyStoreError(f"an active key named {name!r} exists in {path}; revoke it first")
        key = new_key()
        stored = ApiKey(_check_name(name), stored_roles, hash_key(key), _now(), teams=stored_teams)
        write_key_file(path, [k for k in keys if k.name != name] + [stored])
    return key, stored


def revoke_key(path: Path, name: str) -> ApiKey:
    with _changing(path) as keys:
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
        self._stamp: tuple[int, int, int] | None = None
        self._keys: tuple[ApiKey, ...] = tuple(self._env_keys)
        self.error: str | None = None  # why the keys file cannot be read, while it cannot

    def _refresh(self) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        except OSError as error:
            self._unreadable(f"{self.path} cannot be read ({error.strerror})")
            return
        if stamp == self._stamp and self.error is None:
            return
        try:
            file_keys = read_key_file(self.path) if stamp else []
        except KeyStoreError as error:
            self._unreadable(str(error))
            return
        except OSError as error:
            self._unreadable(f"{self.path} cannot be read ({error.strerror})")
            return
        self._keys = tuple(k for k in (*file_keys, *self._env_keys) if k.active)
        self._stamp = stamp
        self.error = None

    def _unreadable(self, reason: str) -> None:
        """No key is accepted while the file cannot be read: a revocation in it must not be lost."""
        self._keys = ()
        self._stamp = None
        self.error = (
            f"the API keys file cannot be read: {reason}; fix or restore it "
            "(`churnguard keys list` shows what it holds)"
        )

    def check(self) -> str | None:
        """Why keys cannot be checked right now, or None (for /readyz)."""
        self._refresh()
        return self.error

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key matching `presented`, or None; compares against every entry.
        KeyStoreUnavailable when the keys file cannot be read."""
        self._refresh()
        if self.error is not None:
            raise KeyStoreUnavailable(self.error)
        digest = hash_key(presented)
        found = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.sha256):
                found = key
        return found

    def __len__(self) -> int:
        self._refresh()
        return len(self._keys)
