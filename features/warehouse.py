"""The DuckDB warehouse: one file in CHURNGUARD_HOME holding the contract tables as loaded.

Besides the contract tables (DDL from `features.contract`) it holds two internal tables written by
ingest: `quarantine` (every rejected row with the rules it broke) and `ingest_runs` (one row per
successful run). Timestamps are naive UTC.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from churnguard.names import INGEST_RUNS_TABLE, QUARANTINE_TABLE
from features.contract import CONTRACT

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
    if not read_only:
        create_schema(con)
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the contract tables (empty when a shop did not provide one) and ingest's own tables."""
    for table in CONTRACT.values():
        con.execute(table.warehouse_ddl())
    con.execute(QUARANTINE_DDL)
    con.execute(INGEST_RUNS_DDL)


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
