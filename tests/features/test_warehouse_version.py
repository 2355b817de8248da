"""A warehouse records the contract version that wrote it; another version is refused at open."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from common.names import CONTRACT_VERSION
from features.warehouse import (
    META_TABLE,
    WarehouseVersionError,
    connect,
    recorded_contract_version,
)


def test_a_new_warehouse_records_this_contract_version(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()
    con = connect(path, read_only=True)
    try:
        assert recorded_contract_version(con) == CONTRACT_VERSION
    finally:
        con.close()


def test_a_warehouse_of_another_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    connect(path).close()
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {META_TABLE} SET value = '0' WHERE key = 'contract_version'")
    con.close()
    for read_only in (False, True):
        with pytest.raises(WarehouseVersionError) as refused:
            connect(path, read_only=read_only)
        message = str(refused.value)
        assert str(path) in message and "contract v0" in message
        assert f"reads v{CONTRACT_VERSION}" in message and "new CHURNGUARD_HOME" in message


def test_an_older_warehouse_with_data_but_no_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR)")
    con.execute("INSERT INTO orders VALUES ('o1', 'c1')")
    con.close()
    with pytest.raises(WarehouseVersionError, match="no version recorded"):
        connect(path)
    con = duckdb.connect(str(path), read_only=True)  # and it was left as it was
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    con.close()


@pytest.mark.parametrize("command", [["daily"], ["ingest", "DATA"], ["train"]])
def test_the_commands_say_so_instead_of_working(tmp_path: Path, monkeypatch, command) -> None:
    from typer.testing import CliRunner

    from churnguard.cli import app

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\no2,c1,2025-01-01T10:00:00,10\n"
    )
    command = [str(data) if part == "DATA" else part for part in command]
    home = tmp_path / "home"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR)")
    con.execute("INSERT INTO orders VALUES ('o1', 'c1')")
    con.close()
    monkeypatch.setenv("CHURNGUARD_HOME", str(home))
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "re-ingest into a new CHURNGUARD_HOME" in result.output


def _as_v1(path: Path) -> None:
    """A warehouse as contract v1 left it: no contacts table, an order loaded."""
    connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE contacts")
    con.execute("ALTER TABLE customers DROP COLUMN consent_sms")
    con.execute("ALTER TABLE customers DROP COLUMN language")
    con.execute("ALTER TABLE feedback DROP COLUMN text_language")
    con.execute("INSERT INTO orders (order_id, customer_id, amount) VALUES ('o1', 'c1', 10)")
    con.execute(f"UPDATE {META_TABLE} SET value = '1' WHERE key = 'contract_version'")
    con.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_v1_warehouse_is_migrated_at_open_and_keeps_its_rows(tmp_path: Path, read_only) -> None:
    path = tmp_path / "warehouse.duckdb"
    _as_v1(path)
    con = connect(path, read_only=read_only)
    try:
        assert recorded_contract_version(con) == CONTRACT_VERSION
        assert con.execute("SELECT count(*) FROM contacts").fetchall()[0][0] == 0
        assert con.execute("SELECT order_id FROM orders").fetchall() == [("o1",)]
        assert con.execute("SELECT consent_sms FROM customers").fetchall() == []
        assert con.execute("SELECT language FROM customers").fetchall() == []
        assert con.execute("SELECT text_language FROM feedback").fetchall() == []
    finally:
        con.close()


def test_a_v1_warehouse_missing_a_column_rows_need_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "warehouse.duckdb"
    _as_v1(path)
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE orders DROP COLUMN amount")
    con.close()
    with pytest.raises(WarehouseVersionError, match=r"no column 'amount'.*new CHURNGUARD_HOME"):
        connect(path)
    con = duckdb.connect(str(path), read_only=True)
    assert recorded_contract_version(con) == "1"
    assert "contacts" not in {
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
    }
    con.close()
