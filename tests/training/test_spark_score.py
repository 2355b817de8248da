"""Batch scoring on Spark (spark_udf over the registered pyfunc) gives DuckDB's scores to 1e-12."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from features import spark_snapshot
from features.snapshot import build_snapshot
from features.spark_warehouse import copy_from_duckdb, register_warehouse
from features.warehouse import connect
from training.spark_score import resolve_registered_model, spark_udf_scores

pytestmark = pytest.mark.slow


def test_spark_scores_equal_duckdb_scores(trained_small_shop, spark, tmp_path):
    settings = trained_small_shop.settings
    as_of = date(2025, 6, 1)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        snapshot = build_snapshot(con, as_of)
        copy_from_duckdb(con, str(tmp_path))
    finally:
        con.close()
    register_warehouse(spark, str(tmp_path))
    model = resolve_registered_model(settings.resolved_model_uri, settings.tracking_uri)
    expected = model.scorer.score_frame(snapshot, reasons=False).set_index("customer_id")

    on_spark = spark_udf_scores(
        spark, spark_snapshot.features_dataframe(spark, [as_of]), model, settings
    ).toPandas()
    on_spark = on_spark.set_index("customer_id").loc[expected.index]

    assert len(on_spark) == len(expected) > 100
    np.testing.assert_allclose(
        on_spark["churn_probability"], expected["churn_probability"], rtol=1e-12, atol=0
    )
    np.testing.assert_allclose(on_spark["percentile"], expected["percentile"], rtol=1e-12, atol=0)
    assert (on_spark["risk_band"] == expected["risk_band"]).all()
