"""API keys as plain functions: stored hashed, checked in constant time, revocable, roles enforced."""

from __future__ import annotations

import stat

import pytest

from serving.keys import (
    KeyRing,
    KeyStoreError,
    create_key,
    hash_key,
    list_keys,
    parse_env_keys,
    revoke_key,
)


def test_created_key_is_stored_only_as_its_hash(tmp_path):
    path = tmp_path / "api_keys.json"
    key, stored = create_key(path, "crm", "score,outreach")
    text = path.read_text()
    assert key not in text
    assert stored.sha256 == hash_key(key) and stored.sha256 in text
    assert stored.roles == ("score", "outreach")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keyring_accepts_the_key_and_refuses_others(tmp_path):
    path = tmp_path / "api_keys.json"
    key, _ = create_key(path, "crm", "score")
    ring = KeyRing(path)
    found = ring.authenticate(key)
    assert found is not None and found.name == "crm"
    assert found.allows("score") and not found.allows("outreach")
    assert ring.authenticate(key + "x") is None
    assert ring.authenticate("") is None


def test_admin_may_do_everything(tmp_path):
    path = tmp_path / "api_keys.json"
    key, _ = create_key(path, "ops", "admin")
    found = KeyRing(path).authenticate(key)
    assert found.allows("score") and found.allows("outreach")


def test_revocation_applies_to_a_running_keyring(tmp_path):
    path = tmp_path / "api_keys.json"
    key, _ = create_key(path, "crm", "score")
    ring = KeyRing(path)
    assert ring.authenticate(key) is not None
    revoke_key(path, "crm")
    assert ring.authenticate(key) is None
    assert [k.revoked_at is not None for k in list_keys(path)] == [True]


def test_env_keys_are_hashes_with_roles(tmp_path):
    key = "cg_from-the-secret-store"
    ring = KeyRing(
        tmp_path / "absent.json", f"crm:score:{hash_key(key)}; agents:outreach,score:{'0' * 64}"
    )
    assert ring.authenticate(key).name == "crm"
    assert len(ring) == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("crm:score", "expected name:roles:sha256hex"),
        ("crm:score:abc", "64 hex digits"),
        (f"crm:root:{'0' * 64}", "not valid"),
    ],
)
def test_bad_env_keys_say_what_is_wrong(text, says):
    with pytest.raises(KeyStoreError, match=says):
        parse_env_keys(text)


def test_bad_roles_and_names_and_duplicates_are_refused(tmp_path):
    path = tmp_path / "api_keys.json"
    with pytest.raises(KeyStoreError, match="not valid"):
        create_key(path, "crm", "score,superuser")
    with pytest.raises(KeyStoreError, match="not valid"):
        create_key(path, "has space", "score")
    create_key(path, "crm", "score")
    with pytest.raises(KeyStoreError, match="revoke it first"):
        create_key(path, "crm", "score")
    with pytest.raises(KeyStoreError, match="no active key"):
        revoke_key(path, "nobody")


def test_keys_create_quiet_prints_only_the_key_it_stored_the_hash_of(churnguard_home):
    from typer.testing import CliRunner

    from churnguard.cli import app
    from common.settings import get_settings
    from serving.keys import hash_key, read_key_file

    result = CliRunner().invoke(
        app, ["keys", "create", "--name", "crm", "--roles", "score", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert "\n" not in key and " " not in key
    (stored,) = read_key_file(get_settings().api_keys_path)
    assert stored.name == "crm" and stored.sha256 == hash_key(key)
