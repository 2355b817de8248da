"""Ingest: one bad row per rule among good ones, nothing lost, idempotent upserts, atomic failures."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from common.names import INPUT_TABLES, QUARANTINE_TABLE
from common.settings import Settings, get_settings
from features import warehouse
from features.contract import CONTRACT
from features.ingest import IngestError, IngestResult, ingest
from features.validation import rules_for
from tests.features.ingest_data import (
    HEADERS,
    ROWS,
    BadRowsShop,
    good_orders_frame,
    write_bad_rows_shop,
    write_csv,
)


@pytest.fixture(scope="module")
def bad_rows_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BadRowsShop, IngestResult, Settings]:
    """The bad-rows shop ingested once into its own home (shared by the rule tests below)."""
    root = tmp_path_factory.mktemp("bad_rows")
    shop = write_bad_rows_shop(root / "data")
    settings = Settings(home=root / "home")
    return shop, ingest(shop.path, settings=settings, data_docs=False), settings


def _quarantined(settings: Settings, table: str) -> dict[int, list[str]]:
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    try:
        rows = con.execute(
            f"SELECT source_line, broken_rules FROM {QUARANTINE_TABLE} WHERE table_name = ?",
            [table],
        ).fetchall()
    finally:
        con.close()
    return {line: sorted(rules) for line, rules in rows}


def _contents(path: Path) -> dict[str, list[tuple]]:
    con = warehouse.connect(path, read_only=True)
    try:
        tables = (*INPUT_TABLES, QUARANTINE_TABLE, "ingest_runs")
        return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
    finally:
        con.close()


def test_the_bad_rows_shop_breaks_every_rule_of_the_contract() -> None:
    covered = {rule for rows in ROWS.values() for _, rules in rows for rule in rules}
    every_rule = {rule.name for table in INPUT_TABLES for rule in rules_for(table)}
    assert every_rule - covered == set(), "add a bad row for each new rule"


@pytest.mark.parametrize("table", list(ROWS))
def test_each_bad_row_is_quarantined_with_every_rule_it_broke(bad_rows_run, table: str) -> None:
    shop, _, settings = bad_rows_run
    assert _quarantined(settings, table) == {
        line: sorted(rules) for line, rules in shop.expected[table].items()
    }


@pytest.mark.parametrize("table", list(ROWS))
def test_good_rows_are_loaded_and_nothing_is_lost(bad_rows_run, table: str) -> None:
    shop, result, settings = bad_rows_run
    counts = result.table(table)
    assert counts.read == len(ROWS[table])
    assert counts.read == counts.loaded + counts.quarantined
    assert counts.quarantined == len(shop.expected[table])
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    key = CONTRACT[table].key
    stored = sorted(r[0] for r in con.execute(f"SELECT {key} FROM {table}").fetchall())
    con.close()
    assert stored == sorted(set(shop.good_keys[table]))


def test_quarantine_file_holds_table_file_line_raw_values_and_rules(bad_rows_run) -> None:
    shop, result, _ = bad_rows_run
    rows = [json.loads(line) for line in Path(result.quarantine_file).read_text().splitlines()]
    assert len(rows) == sum(t.quarantined for t in result.tables)
    negative = next(
        r for r in rows if r["table"] == "orders" and r["raw_values"]["order_id"] == "b9"
    )
    assert negative["source_file"] == str(shop.path / "orders.csv")
    assert negative["source_line"] == 16  # header is line 1; b9 is the 15th data row
    assert negative["raw_values"]["amount"] == "-2"
    assert negative["broken_rules"] == ["orders.amount.in_range", "orders.status.allowed"]
    assert "note" not in negative["raw_values"]  # extra columns are ignored
    not_utf8 = next(r for r in rows if r["broken_rules"] == ["orders.utf8"])
    assert not_utf8["raw_values"]["customer_id"] == "c3\\xff"


def test_timestamps_with_offsets_are_stored_as_naive_utc(bad_rows_run) -> None:
    _, _, settings = bad_rows_run
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    stored = dict(con.execute("SELECT order_id, ordered_at FROM orders").fetchall())
    con.close()
    assert stored["o2"] == datetime(2024, 1, 2, 8, 0)  # 10:00+02:00
    assert stored["o4"] == datetime(2024, 1, 4, 9, 0)  # Z
    assert stored["o1"] == datetime(2024, 1, 1, 10, 0)  # no offset means UTC


def test_report_and_ingest_runs_record_the_counts(bad_rows_run) -> None:
    _, result, settings = bad_rows_run
    report = json.loads(Path(result.report_path).read_text())
    assert report["status"] == "succeeded"
    orders = next(t for t in report["tables"] if t["table"] == "orders")
    assert orders["read"] == orders["loaded"] + orders["quarantined"]
    top = {rule["rule"]: rule for rule in orders["broken_rules"]}
    assert top["orders.amount.in_range"]["rows"] == 2
    assert top["orders.amount.in_range"]["examples"][0]["source_line"] == 8
    con = warehouse.connect(settings.warehouse_path, read_only=True)
    runs = con.execute(
        "SELECT run_id, rows_read, rows_loaded, rows_quarantined FROM ingest_runs"
    ).fetchall()
    con.close()
    read = sum(t.read for t in result.tables)
    assert runs == [
        (
            result.run_id,
            read,
            read - sum(t.quarantined for t in result.tables),
            sum(t.quarantined for t in result.tables),
        )
    ]


def test_reingest_is_idempotent_and_a_changed_row_replaces_the_stored_one(
    churnguard_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write_bad_rows_shop(data, tables=("orders", "deliveries"))
    first = ingest(data, data_docs=False)
    second = ingest(data, data_docs=False)
    for table in ("orders", "deliveries"):
        assert second.table(table).replaced == 0
        assert second.table(table).inserted == 0
        assert second.table(table).unchanged == first.table(table).loaded
    rows = [cells for cells, rules in ROWS["orders"] if not rules]
    rows[0] = ["o1", "c1", "2024-01-01T10:00:00", "11.0", "returned", ""]  # o1 changed
    rows.append(["o5", "c9", "2024-02-01", "3", "placed", ""])  # a new order
    write_csv(data / "orders.csv", HEADERS["orders"], rows)
    (data / "deliveries.csv").unlink()
    third = ingest(data, data_docs=False)
    orders = third.table("orders")
    assert (orders.inserted, orders.replaced, orders.unchanged) == (1, 1, len(rows) - 2)
    con = warehouse.connect(get_settings().warehouse_path, read_only=True)
    o1 = con.execute(
        "SELECT amount, status, _ingest_run_id FROM orders WHERE order_id = 'o1'"
    ).fetchall()
    o2_run = con.execute("SELECT _ingest_run_id FROM orders WHERE order_id = 'o2'").fetchone()[0]
    con.close()
    assert o1 == [(11.0, "returned", third.run_id)]
    assert o2_run == first.run_id  # unchanged rows keep their lineage


def test_a_failed_table_leaves_the_warehouse_exactly_as_it_was(
    churnguard_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write_bad_rows_shop(data, tables=("orders", "deliveries"))
    ingest(data, data_docs=False)
    before = _contents(get_settings().warehouse_path)
    write_csv(
        data / "orders.csv", HEADERS["orders"], [["o1", "c1", "2024-01-01", "99", "placed", ""]]
    )
    write_csv(data / "feedback.csv", ["feedback_id", "customer_id", "rating"], [["f1", "c1", "5"]])
    with pytest.raises(IngestError, match=r"feedback\.csv: missing required column 'created_at'"):
        ingest(data, data_docs=False)
    assert _contents(get_settings().warehouse_path) == before


def test_a_column_of_the_wrong_type_fails_the_table_after_earlier_tables_staged(
    churnguard_home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write_bad_rows_shop(data, tables=("orders",))
    ingest(data, data_docs=False)
    before = _contents(get_settings().warehouse_path)
    write_csv(
        data / "deliveries.csv",
        HEADERS["deliveries"],
        [["o1", "tomorrow", "", ""], ["o2", "later", "", ""]],
    )
    with pytest.raises(
        IngestError, match=r"deliveries\.csv: column 'promised_at' has no value that is an ISO 8601"
    ):
        ingest(data, data_docs=False)
    assert _contents(get_settings().warehouse_path) == before


def test_orders_only_parquet_with_offsets_loads(churnguard_home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    good_orders_frame().to_parquet(data / "orders.parquet")
    result = ingest(data, data_docs=False)
    assert [t.table for t in result.tables] == ["orders"]
    assert (result.table("orders").loaded, result.table("orders").quarantined) == (3, 0)
    con = warehouse.connect(get_settings().warehouse_path, read_only=True)
    stored = dict(con.execute("SELECT order_id, ordered_at FROM orders").fetchall())
    status = dict(con.execute("SELECT order_id, status FROM orders").fetchall())
    con.close()
    assert stored == {
        "o1": datetime(2024, 1, 1, 8, 0),
        "o2": datetime(2024, 1, 2, 0, 0),
        "o3": datetime(2024, 1, 3, 10, 30),
    }
    assert status["o2"] is None


def test_the_synthetic_shop_ingests_with_nothing_quarantined(
    churnguard_home: Path, small_shop: Path, tmp_path: Path
) -> None:
    data = tmp_path / "shop"
    shutil.copytree(small_shop, data, ignore=shutil.ignore_patterns("truth"))
    result = ingest(data, data_docs=False)
    assert {t.table for t in result.tables} == set(INPUT_TABLES)
    for table in result.tables:
        assert table.read > 0
        assert table.quarantined == 0, table.broken_rules[:3]
        assert table.loaded == table.read
    assert result.sentiment["distinct_texts_scored"] < result.sentiment["rows_with_text"]


def test_date_only_delivery_dates_on_the_order_day_are_accepted(
    churnguard_home: Path, tmp_path: Path
) -> None:
    """Shops export promised/delivered dates without a time: the order's own day is not 'before' it."""
    data = tmp_path / "data"
    data.mkdir()
    good_orders_frame().to_parquet(data / "orders.parquet")
    write_csv(
        data / "deliveries.csv",
        ["order_id", "promised_at", "delivered_at", "status"],
        [
            ["o3", "2024-01-03", "2024-01-03", "delivered"],  # order placed 10:30 that day
            ["o1", "2023-12-31", "", "in_transit"],  # promised the day before the order
        ],
    )
    result = ingest(data, data_docs=False)
    deliveries = result.table("deliveries")
    assert (deliveries.loaded, deliveries.quarantined) == (1, 1)
    assert [rule.rule for rule in deliveries.broken_rules] == [
        "deliveries.promised_at.not_before_ordered"
    ]
