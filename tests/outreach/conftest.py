"""Outreach fixtures: scored frames built in code, a queue store on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy

from common.names import ReasonCode
from outreach.playbooks import Playbooks, load_playbooks
from outreach.store import OutreachStore


def reason(code: str, contribution: float = 0.2) -> dict[str, object]:
    return {"code": code, "sentence": f"because {code.lower()}", "contribution": contribution}


def make_scored(
    n: int,
    seed: int = 0,
    codes: Sequence[str] = (
        ReasonCode.LATE_DELIVERY,
        ReasonCode.LOW_RATING,
        ReasonCode.LONG_INACTIVE,
        ReasonCode.FEW_ORDERS,
    ),
    prefix: str = "c",
) -> pd.DataFrame:
    """A day's scored customers: probabilities above 0.5, one reason each, values that vary."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"{prefix}{i:05d}" for i in range(n)],
            "churn_probability": rng.uniform(0.5, 1.0, n),
            "reasons": [[reason(codes[i % len(codes)])] for i in range(n)],
            "orders_365d": rng.integers(1, 12, n),
            "avg_order_value": rng.uniform(20, 80, n),
            "tenure_days": rng.integers(60, 600, n),
        }
    )


@pytest.fixture()
def playbooks() -> Playbooks:
    return load_playbooks()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty queue database: a SQLite file, or a throwaway schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outreach.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"outreach_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = sqlalchemy.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture()
def store(store_url: str) -> Iterator[OutreachStore]:
    opened = OutreachStore.open(store_url)
    try:
        yield opened
    finally:
        opened.close()
