"""`churnguard features`: the catalogue listing and a snapshot written from the warehouse."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from churnguard.cli import app
from features.catalogue import FEATURE_CATALOGUE_VERSION, FEATURE_NAMES
from features.io import snapshot_catalogue_version
from features.warehouse import connect
from tests.features.hand_shop import hand_deliveries, hand_feedback, hand_orders

runner = CliRunner()


def _warehouse_in(home):
    con = connect(home / "warehouse.duckdb")
    for table, frame in (
        ("orders", hand_orders()),
        ("deliveries", hand_deliveries()),
        ("feedback", hand_feedback()),
    ):
        con.register("frame", frame)
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
    con.close()


def test_list_prints_every_feature_with_its_source(churnguard_home):
    result = runner.invoke(app, ["features", "--list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert FEATURE_CATALOGUE_VERSION in result.output
    for name in FEATURE_NAMES:
        assert name in result.output


def test_as_of_writes_the_snapshot(churnguard_home, tmp_path):
    _warehouse_in(churnguard_home)
    out = tmp_path / "snap.parquet"
    result = runner.invoke(app, ["features", "--as-of", "2025-07-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    snapshot = pd.read_parquet(out)
    assert sorted(snapshot["customer_id"]) == ["ann", "bob", "dan"]
    assert list(snapshot.columns) == ["customer_id", "as_of", *FEATURE_NAMES]
    assert snapshot_catalogue_version(out) == FEATURE_CATALOGUE_VERSION

    csv = tmp_path / "snap.csv"
    assert (
        runner.invoke(app, ["features", "--as-of", "2025-07-01", "--out", str(csv)]).exit_code == 0
    )
    assert (
        pd.read_csv(csv)["days_since_last_order"].tolist()
        == snapshot["days_since_last_order"].tolist()
    )

    default = runner.invoke(app, ["features", "--as-of", "2025-07-01"])
    assert default.exit_code == 0, default.output
    assert len(list((churnguard_home / "exports").glob("features_2025-07-01*.parquet"))) == 1


def test_bad_input_exits_2_and_says_what_was_wrong(churnguard_home, tmp_path):
    no_warehouse = runner.invoke(app, ["features", "--as-of", "2025-07-01"])
    assert no_warehouse.exit_code == 2
    assert "no warehouse" in no_warehouse.output
    _warehouse_in(churnguard_home)
    bad_date = runner.invoke(app, ["features", "--as-of", "July"])
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output
    bad_out = runner.invoke(
        app, ["features", "--as-of", "2025-07-01", "--out", str(tmp_path / "x.json")]
    )
    assert bad_out.exit_code == 2 and ".parquet" in bad_out.output
    assert runner.invoke(app, ["features"]).exit_code == 2
