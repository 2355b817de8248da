"""The DuckDB warehouse: one file in CHURNGUARD_HOME holding the contract tables as loaded.

Besides the contract tables (DDL from `features.contract`) it holds two internal tables written by
ingest: `quarantine` (every rejected row with the rules it broke) and `ingest_runs` (one row per
successful run). Timestamps are naive UTC. `warehouse_meta` records the contract version that wrote
it: a warehouse of an older version is migrated at open (`migrate`: tables and nullable columns the
contract added are created, generically from the contract), and one that cannot be migrated, or of
a newer or unknown version, is refused, never read as if it were this one.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from common.names import CONTRACT_VERSION, INGEST_RUNS_TABLE, ORDERS, QUARANTINE_TABLE
from features.contract import CONTRACT

META_TABLE = "warehouse_meta"
# Contract versions a warehouse is migrated from at open (v1 had no contacts table).
MIGRATES_FROM = ("1",)
META_DDL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)"


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
        if needs_migration(con) and read_only:
            con.close()
            upgrade = duckdb.connect(str(path))
            try:
                migrate(upgrade, path)
            finally:
                upgrade.close()
            con = duckdb.connect(str(path), read_only=True)
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
        elif needs_migration(con):
            migrate(con, path)
        check_contract_version(con, path)
        if not read_only:
            create_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def needs_migration(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a warehouse written by an older contract version than this one."""
    return recorded_contract_version(con) in MIGRATES_FROM


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table]
    ).fetchall()
    return {row[0] for row in rows}


def migration_plan(con: duckdb.DuckDBPyConnection, path: Path | str) -> list[str]:
    """The statements that bring an older warehouse to this contract: a CREATE for each missing
    table, an ADD COLUMN for each missing column that may be empty. A missing column that must hold
    a value in rows already loaded cannot be made up: that raises, saying what to do."""
    tables = _tables(con)
    statements = []
    for table in CONTRACT.values():
        if table.name not in tables:
            statements.append(table.warehouse_ddl())
            continue
        present = _columns(con, table.name)
        has_rows = row_count(con, table.name) > 0
        for column in (*table.columns, *table.derived_columns):
            if column.name in present:
                continue
            if has_rows and not column.nullable:
                raise WarehouseVersionError(
                    f"warehouse at {path}: table {table.name} has rows but no column "
                    f"{column.name!r}, which contract v{CONTRACT_VERSION} requires in every row; "
                    "re-ingest the shop's files into a new CHURNGUARD_HOME"
                )
            statements.append(
                f"ALTER TABLE {table.name} ADD COLUMN {column.sql} {column.duckdb_type}"
            )
    return statements


def migrate(con: duckdb.DuckDBPyConnection, path: Path | str) -> list[str]:
    """Bring an older warehouse to this contract in one transaction (all or nothing)."""
    statements = migration_plan(con, path)
    con.execute("BEGIN TRANSACTION")
    try:
        for statement in statements:
            con.execute(statement)
        con.execute(
            f"UPDATE {META_TABLE} SET value = ? WHERE key = 'contract_version'", [CONTRACT_VERSION]
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return statements


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def recorded_contract_version(con: duckdb.DuckDBPyConnection) -> str | None:
    """The contract version recorded in the warehouse; None when nothing is recorded."""
    if META_TABLE not in _tables(con):
        return None
    row = con.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'contract_version'").fetchone()
    return None if row is None else row[0]


def check_contract_version(con: duckdb.DuckDBPyConnection, path: Path | str) -> None:
    """Refuse a warehouse written by another contract version (or by one that recorded none)."""
    recorded = recorded_contract_version(con)
    if recorded is None:
        tables = _tables(con)
        if ORDERS not in tables or row_count(con, ORDERS) == 0:
            return  # a new (or empty) warehouse: create_schema records this version
        recorded = "0 (no version recorded)"
    if recorded != CONTRACT_VERSION:
        raise WarehouseVersionError(
            f"warehouse at {path} was written by contract v{recorded}; this churnguard reads "
            f"v{CONTRACT_VERSION}: re-ingest into a new CHURNGUARD_HOME or migrate it"
        )


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


# --- reads the daily job makes ----------------------------------------------------------------

OUTREACH_CUSTOMER_COLUMNS = (
    "customer_id",
    "preferred_channel",
    "consent_email",
    "consent_phone",
    "consent_sms",
)


def last_event_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day anything happened in the warehouse (an order, a delivery or feedback)."""
    latest = con.execute(
        """
        SELECT max(moment) FROM (
            SELECT max(ordered_at) AS moment FROM orders
            UNION ALL SELECT max(delivered_at) FROM deliveries
            UNION ALL SELECT max(created_at) FROM feedback
        )
        """
    ).fetchall()[0][0]
    return None if latest is None else latest.date()


def outreach_customers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Channels and consents of every customer (OUTREACH_CUSTOMER_COLUMNS); None when the shop
    gave no customers table."""
    customers = con.execute(f"SELECT {', '.join(OUTREACH_CUSTOMER_COLUMNS)} FROM customers").df()
    return None if customers.empty else customers
