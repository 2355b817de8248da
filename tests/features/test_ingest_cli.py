"""`churnguard ingest` and `churnguard contract` through the real CLI: exit codes, messages, counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churnguard.cli import app
from tests.features.ingest_data import HEADERS, ROWS, write_bad_rows_shop, write_csv

runner = CliRunner()


def test_a_corrupt_row_set_loads_the_good_rows_and_reports_the_counts(
    churnguard_home: Path, tmp_path: Path
) -> None:
    write_bad_rows_shop(tmp_path / "data")
    result = runner.invoke(app, ["ingest", str(tmp_path / "data"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "orders" in result.output and "report:" in result.output
    report_path = Path(result.output.split("report: ")[1].split()[0])
    report = json.loads(report_path.read_text())
    for table in report["tables"]:
        assert table["read"] == len(ROWS[table["table"]])
        assert table["read"] == table["loaded"] + table["quarantined"]
    assert Path(report["data_docs_path"]).name == "index.html"
    assert Path(report["data_docs_path"]).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deliveries.csv", b"", "deliveries.csv: empty file"),
        ("deliveries.csv", b"order_id,promised_at,delivered_at\n", "deliveries.csv: no data rows"),
        (
            "feedback.csv",
            b"feedback_id,customer_id,rating\nf1,c1,5\n",
            "feedback.csv: missing required column 'created_at'",
        ),
        (
            "customers.csv",
            b"customer_id,signup_at\nc1,soon\nc2,later\n",
            "customers.csv: column 'signup_at' has no value that is an ISO 8601 timestamp",
        ),
        (
            "deliveries.parquet",
            b"PAR1\x00\x00truncated",
            "deliveries.parquet: unreadable Parquet file",
        ),
        (
            "deliveries.csv",
            "order_id,promised_at\nö1,2024-01-01\n".encode("utf-16"),
            "deliveries.csv: line 1 (header) is not valid UTF-8",
        ),
        (
            "deliveries.csv",
            b"order_id,promised_at,delivered_at\no1,2024-01-03,2024-01-04\no2,2024-01-0",
            "deliveries.csv: cannot parse the CSV",
        ),
    ],
)
def test_an_unusable_table_exits_2_names_the_file_and_changes_nothing(
    churnguard_home: Path, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "orders.csv", HEADERS["orders"], [c for c, r in ROWS["orders"] if not r])
    (data / name).write_bytes(content)
    result = runner.invoke(app, ["ingest", str(data), "--no-progress"])
    assert result.exit_code == 2
    assert message in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    warehouse_file = churnguard_home / "warehouse.duckdb"
    if warehouse_file.exists():
        import duckdb

        con = duckdb.connect(str(warehouse_file), read_only=True)
        assert con.execute("SELECT count(*) FROM orders").fetchall() == [(0,)]
        con.close()


def test_a_missing_orders_file_exits_2(churnguard_home: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = runner.invoke(app, ["ingest", str(tmp_path / "data"), "--no-progress"])
    assert result.exit_code == 2
    assert "the orders table is required" in result.output


def test_contract_prints_every_table_and_the_markdown_lists_every_rule() -> None:
    result = runner.invoke(app, ["contract"])
    assert result.exit_code == 0
    for table in ("orders", "deliveries", "feedback", "customers"):
        assert table in result.output
    markdown = runner.invoke(app, ["contract", "--markdown"]).output
    assert "`orders.amount.in_range`: expected amount >= 0" in markdown
    assert "| `rating` | integer | no | yes | >= 1; <= 5 |" in markdown
