"""The DuckDB warehouse: one file in CHURNGUARD_HOME holding the contract tables as loaded.

Besides the contract tables (DDL from `features.contract`) it holds two internal tables written by
ingest: `quarantine` (every rejected row with the rules it broke) and `ingest_runs` (one row per
successful run). Timestamps are naive UTC. `warehouse_meta` records the contract version that wrote
it: a warehouse of another version is refused at open, never read as if it were this one, except an
older version listed in `MIGRATES_FROM`, which a writable open brings up to date by adding what the
contract has and it lacks (tables, and columns that may be empty); nothing is dropped or rewritten.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from common.names import CONTRACT_VERSION, INGEST_RUNS_TABLE, ORDERS, QUARANTINE_TABLE
from features.contract import CONTRACT

META_TABLE = "warehouse_meta"
META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)"


MIGRATES_FROM = frozenset(
    {"1"}
)  # versions whose every difference is a new table or nullable column


class WarehouseVersionError(ValueError):
    """The warehouse was written by another contract version than the one this churnguard reads."""


QUARANTINE_DDL = f"""
CREATE TABLE IF NOT EXISTS {QUARANTINE_TABLE} (
    ingest_run_id VARCHAR,
    contract_version VARCHAR,
    table_name VARCHAR,
    source_file VARCHAR,
    source_line BIGINT,
    raw_values VARCHAR,
    broken_rules VARCHAR[],
    problems VARCHAR[],
    quarantined_at TIMESTAMP
)"""

INGEST_RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {INGEST_RUNS_TABLE} (
    run_id VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    data_dir VARCHAR,
    contract_version VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    tables VARCHAR,
    report_path VARCHAR
)"""


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable connection also makes sure every table exists."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `churnguard ingest DATA_DIR` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # jobs report their own progress; no stray bars
    try:
        check_contract_version(con, path, read_only)
        if not read_only:
            create_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def recorded_contract_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The contract version recorded in the warehouse; None when nothing is recorded."""
    if META_TABLE not in _tables(con):
        return None
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'contract_version'").fetchone()
    return None if row is None else row[0]


def check_contract_version(
    con: duckdb.DuckDBPyConnection, path: Path | str, read_only: bool = False
) -> None:
    """Refuse a warehouse written by another contract version (or by one that recorded none);
    migrate one of an older version in `MIGRATES_FROM` when the connection may write."""
    recorded = recorded_contract_version(con)
    if recorded is None:
        tables = _tables(con)
        if ORDERS not in tables or row_count(con, ORDERS) == 0:
            return  # a new (or empty) warehouse: create_schema records this version
        recorded = "0 (no version recorded)"
    if recorded in MIGRATES_FROM:
        if read_only:
            raise WarehouseVersionError(
                f"warehouse at {path} was written by contract v{recorded}; this churnguard reads "
                f"v{CONTRACT_VERSION}: run `churnguard migrate` once to add what v{CONTRACT_VERSION} "
                "has (its data is kept)"
            )
        migrate(con, path, recorded)
        return
    if recorded != CONTRACT_VERSION:
        raise WarehouseVersionError(
            f"warehouse at {path} was written by contract v{recorded}; this churnguard reads "
            f"v{CONTRACT_VERSION}: re-ingest into a new CHURNGUARD_HOME or migrate it"
        )


def missing_from_contract(
    con: duckdb.DuckDBPyConnection,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Contract tables the warehouse lacks, and (table, column) pairs its existing tables lack."""
    tables = _tables(con)
    existing = {
        (table, column)
        for table, column in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns()"
        ).fetchall()
    }
    new_tables = [name for name in CONTRACT if name not in tables]
    new_columns = [
        (name, column.name)
        for name, table in CONTRACT.items()
        if name in tables
        for column in (*table.columns, *table.derived_columns)
        if (name, column.name) not in existing
    ]
    return new_tables, new_columns


def migrate(con: duckdb.DuckDBPyConnection, path: Path | str, recorded: str) -> list[str]:
    """Bring a warehouse of an older contract up to this one in one transaction; say what changed.

    Generic: every table the contract has and the warehouse lacks is created, every column it lacks
    is added empty. A missing column that may not be empty cannot be added this way and is refused.
    """
    new_tables, new_columns = missing_from_contract(con)
    required = [
        f"{table}.{column}"
        for table, column in new_columns
        if not CONTRACT[table].column(column).nullable
    ]
    if required:
        raise WarehouseVersionError(
            f"warehouse at {path} (contract v{recorded}) lacks {', '.join(required)}, which "
            f"contract v{CONTRACT_VERSION} requires: re-ingest into a new CHURNGUARD_HOME"
        )
    changes: list[str] = []
    con.begin()
    try:
        for table in new_tables:
            con.execute(CONTRACT[table].warehouse_ddl())
            changes.append(f"created table {table}")
        for table, column in new_columns:
            kind = CONTRACT[table].column(column).duckdb_type
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            changes.append(f"added {table}.{column} ({kind}, empty)")
        con.execute(
            f"UPDATE {META_TABLE} SET value = ? WHERE key = 'contract_version'", [CONTRACT_VERSION]
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return changes


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the contract tables (empty when a shop did not provide one) and ingest's own tables."""
    for table in CONTRACT.values():
        con.execute(table.warehouse_ddl())
    con.execute(QUARANTINE_DDL)
    con.execute(INGEST_RUNS_DDL)
    con.execute(META_DDL)
    con.execute(
        f"INSERT INTO {META_TABLE} VALUES ('contract_version', ?) ON CONFLICT DO NOTHING",
        [CONTRACT_VERSION],
    )


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
