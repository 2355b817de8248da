"""Which data and which code a model came from: the warehouse fingerprint and the git commit."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb

from common.names import INPUT_TABLES
from features.contract import CONTRACT

# The columns whose sum of hashes stands for a table's content (a changed row changes the sum).
_TIME_COLUMNS = {
    "orders": "ordered_at",
    "deliveries": "promised_at",
    "feedback": "created_at",
    "customers": "signup_at",
    "contacts": "contacted_at",
}


def table_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, object]]:
    """Per input table: row count, latest timestamp and a content checksum over the contract columns."""
    out: dict[str, dict[str, object]] = {}
    for table in INPUT_TABLES:
        columns = ", ".join(c.sql for c in CONTRACT[table].columns)
        time_column = _TIME_COLUMNS[table]
        rows, latest, checksum = con.execute(
            f"SELECT count(*), max({time_column}), coalesce(sum(hash({columns})) % 1000000007, 0) "
            f"FROM {table}"
        ).fetchone()
        out[table] = {
            "rows": int(rows),
            "max_time": None if latest is None else str(latest),
            "checksum": int(checksum),
        }
    return out


def warehouse_fingerprint(tables: dict[str, dict[str, object]]) -> str:
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]


def git_commit(folder: Path | None = None) -> tuple[str | None, bool]:
    """(commit, dirty) of the code, or (None, False) outside a git checkout."""
    folder = folder or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "training", "models", "features"],
            cwd=folder.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, False
    return commit, bool(status.strip())
