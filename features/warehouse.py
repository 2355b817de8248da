"""The DuckDB warehouse: one file in CHURNGUARD_HOME holding the contract tables as loaded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from features.contract import CONTRACT


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable connection also makes sure every contract table exists."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"no warehouse at {path}: run `churnguard ingest DATA_DIR` first"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        create_schema(con)
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the contract tables (empty when a shop did not provide one)."""
    for table in CONTRACT.values():
        con.execute(table.warehouse_ddl())


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
