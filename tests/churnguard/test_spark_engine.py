"""`CHURNGUARD_ENGINE=spark churnguard ingest DIR && churnguard train && churnguard daily` end to end
(Spark in local mode): its scores and queues equal the DuckDB path's on the same shop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnguard.cli import app
from common.settings import Settings
from outreach.store import open_store

pytestmark = pytest.mark.slow
runner = CliRunner()
AS_OF = "2025-06-01"


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _queue(home: Path) -> pd.DataFrame:
    store = open_store(Settings(home=home).queue_database_url)
    try:
        items = store.items(pd.Timestamp(AS_OF).date())
    finally:
        store.close()
    columns = ["customer_id", "team", "priority_rank", "action", "reason_code"]
    return items[columns].sort_values(["team", "priority_rank"]).reset_index(drop=True)


def test_spark_engine_end_to_end_equals_duckdb(
    small_shop, trained_home, spark, tmp_path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("CHURNGUARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHURNGUARD_MODEL_URI", raising=False)

    duck_home = tmp_path / "duckdb"
    shutil.copytree(trained_home, duck_home)
    monkeypatch.setenv("CHURNGUARD_HOME", str(duck_home))
    monkeypatch.setenv("CHURNGUARD_ENGINE", "duckdb")
    _cli("daily", "--as-of", AS_OF)
    _cli("score", "--as-of", AS_OF, "--out", str(tmp_path / "duck_scores.parquet"))

    spark_home = tmp_path / "spark"
    monkeypatch.setenv("CHURNGUARD_HOME", str(spark_home))
    monkeypatch.setenv("CHURNGUARD_ENGINE", "spark")
    ingested = _cli("ingest", str(small_shop), "--no-progress")
    assert "Spark warehouse" in ingested
    assert (spark_home / "spark-warehouse" / "orders").is_dir()
    _cli("train")
    _cli("daily", "--as-of", AS_OF)
    _cli("score", "--as-of", AS_OF, "--out", str(tmp_path / "spark_scores.parquet"))

    exports = [
        pd.read_parquet(home / "exports" / f"scores_{AS_OF}.parquet").set_index("customer_id")
        for home in (duck_home, spark_home)
    ]
    duck, on_spark = exports[0], exports[1].loc[exports[0].index]
    np.testing.assert_allclose(
        on_spark["churn_probability"], duck["churn_probability"], rtol=1e-12, atol=0
    )
    assert (on_spark["risk_band"] == duck["risk_band"]).all()
    pd.testing.assert_frame_equal(_queue(spark_home), _queue(duck_home))

    duck_scores = pd.read_parquet(tmp_path / "duck_scores.parquet").set_index("customer_id")
    spark_scores = pd.read_parquet(tmp_path / "spark_scores.parquet").set_index("customer_id")
    assert list(spark_scores.columns) == list(duck_scores.columns)
    spark_scores = spark_scores.loc[duck_scores.index]
    np.testing.assert_allclose(
        spark_scores["churn_probability"], duck_scores["churn_probability"], rtol=1e-12, atol=0
    )
    explained = spark_scores["reasons"] != "[]"
    assert 0 < explained.sum() < len(spark_scores)  # only those who can reach a queue
    for customer in spark_scores.index[explained][:20]:
        assert json.loads(spark_scores.loc[customer, "reasons"]) == json.loads(
            duck_scores.loc[customer, "reasons"]
        )


def test_an_unknown_engine_is_refused(churnguard_home):
    result = runner.invoke(app, ["train", "--engine", "presto"])
    assert result.exit_code == 2
    assert "expected duckdb or spark" in result.output
