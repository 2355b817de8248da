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


def _make_v1(path: Path) -> None:
    """A warehouse as contract v1 left it: no customers.language, no feedback.text_language."""
    connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO orders (order_id, customer_id, amount) VALUES ('o1', 'c1', 5)")
    con.execute("ALTER TABLE customers DROP COLUMN language")
    con.execute("ALTER TABLE feedback DROP COLUMN text_language")
    con.execute(f"UPDATE {META_TABLE} SET value = '1' WHERE key = 'contract_version'")
    con.close()


def test_a_v1_warehouse_is_migrated_by_a_writable_open_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    _make_v1(path)
    with pytest.raises(WarehouseVersionError, match="churnguard migrate"):
        connect(path, read_only=True)
    con = connect(path)
    try:
        assert recorded_contract_version(con) == CONTRACT_VERSION
        assert con.execute("SELECT order_id FROM orders").fetchall() == [("o1",)]
        columns = {
            (t, c)
            for t, c in con.execute(
                "SELECT table_name, column_name FROM duckdb_columns()"
            ).fetchall()
        }
        assert {("customers", "language"), ("feedback", "text_language")} <= columns
    finally:
        con.close()


def test_churnguard_migrate_says_what_it_added(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from churnguard.cli import app

    home = tmp_path / "home"
    _make_v1(home / "warehouse.duckdb")
    monkeypatch.setenv("CHURNGUARD_HOME", str(home))
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "customers.language" in result.output and "feedback.text_language" in result.output
    again = CliRunner().invoke(app, ["migrate"])
    assert again.exit_code == 0 and "nothing to do" in again.output
