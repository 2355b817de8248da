"""`churnguard queue ...` and `churnguard report` through typer's CliRunner, state in CHURNGUARD_HOME."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from churnguard.cli import app
from common.settings import get_settings
from features.warehouse import connect
from outreach.daily import build_daily_queues
from outreach.rules import OutreachConfig
from outreach.store import open_store
from tests.outreach.conftest import make_scored

DAY = date(2025, 2, 3)
runner = CliRunner()


@pytest.fixture()
def built(churnguard_home: Path) -> pd.DataFrame:
    """A day's queues built into the default store; returns the items."""
    store = open_store()
    build_daily_queues(store, make_scored(120), None, DAY, OutreachConfig(control_fraction=0.2))
    items = store.items(DAY)
    store.close()
    return items


def test_export_writes_every_item_of_the_date(built: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "queue.csv"
    result = runner.invoke(app, ["queue", "export", "--date", DAY.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    exported = pd.read_csv(out)
    for column in (
        "customer_id",
        "team",
        "channel",
        "action",
        "reason",
        "churn_probability",
        "value_at_risk",
        "priority_rank",
        "state",
    ):
        assert column in exported.columns
    assert len(exported) == len(built)
    assert set(exported["customer_id"]) == set(built["customer_id"])
    assert (exported["state"] == "queued").all()


def test_control_export_lists_the_held_out_customers(built: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "control.csv"
    result = runner.invoke(app, ["queue", "control", "--date", DAY.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    control = pd.read_csv(out)
    assert len(control) > 0
    assert not set(control["customer_id"]) & set(built["customer_id"])


def test_claim_prints_csv_and_outcome_moves_the_item(built: pd.DataFrame) -> None:
    result = runner.invoke(
        app,
        [
            "queue",
            "claim",
            "--team",
            "customer-care",
            "--n",
            "3",
            "--agent",
            "ann",
            "--date",
            DAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    claimed = pd.read_csv(io.StringIO(result.stdout))
    expected = built.loc[built["team"] == "customer-care"].head(3)
    assert claimed["customer_id"].tolist() == expected["customer_id"].tolist()
    assert (claimed["claimed_by"] == "ann").all()

    item_id = str(claimed.loc[0, "id"])
    contacted = runner.invoke(
        app, ["queue", "outcome", item_id, "--state", "contacted", "--agent", "ann"]
    )
    assert contacted.exit_code == 0, contacted.output
    assert "contacted" in contacted.output
    illegal = runner.invoke(
        app, ["queue", "outcome", item_id, "--state", "claimed", "--agent", "ann"]
    )
    assert illegal.exit_code == 2
    assert "cannot become claimed" in illegal.output

    again = runner.invoke(
        app, ["queue", "claim", "--team", "customer-care", "--n", "2", "--agent", "bob"]
    )
    assert not set(pd.read_csv(io.StringIO(again.stdout))["customer_id"]) & set(
        claimed["customer_id"]
    )


def test_list_and_bad_dates(built: pd.DataFrame) -> None:
    listed = runner.invoke(
        app, ["queue", "list", "--date", DAY.isoformat(), "--team", "service-recovery"]
    )
    assert listed.exit_code == 0, listed.output
    top = built.loc[built["team"] == "service-recovery"].iloc[0]
    assert top["customer_id"] in listed.output
    bad = runner.invoke(app, ["queue", "export", "--date", "03/02/2025", "--out", "x.csv"])
    assert bad.exit_code == 2 and "expected YYYY-MM-DD" in bad.output


def test_report_command_compares_queued_and_control(built: pd.DataFrame) -> None:
    con = connect(get_settings().warehouse_path)
    at = datetime.combine(DAY, datetime.min.time())
    rows = [(f"o{i}", c, at + timedelta(days=3)) for i, c in enumerate(built["customer_id"][::2])]
    rows.append(("last", "anyone", at + timedelta(days=120)))
    con.executemany(
        "INSERT INTO orders (order_id, customer_id, ordered_at, amount) VALUES (?, ?, ?, 1.0)", rows
    )
    con.close()
    result = runner.invoke(app, ["report", "--period", f"{DAY}:{DAY}"])
    assert result.exit_code == 0, result.output
    assert "by team:" in result.output and "customer-care" in result.output
    same = runner.invoke(app, ["report", "--from", DAY.isoformat(), "--to", DAY.isoformat()])
    assert same.output == result.output
    missing = runner.invoke(app, ["report", "--from", DAY.isoformat()])
    assert missing.exit_code == 2


def test_list_shows_claimed_and_unclaimed_items_of_the_latest_queue(built: pd.DataFrame) -> None:
    """A day with both claimed and unclaimed items once crashed the table (NaN as agent)."""
    claim = ["queue", "claim", "--team", "customer-care", "--n", "2", "--agent", "ann"]
    assert runner.invoke(app, claim).exit_code == 0
    listed = runner.invoke(app, ["queue", "list", "--team", "customer-care"])
    assert listed.exit_code == 0, listed.output
    assert f"queue of {DAY}" in listed.output  # no --date: the latest built, said on screen
    assert "ann" in listed.output and "queued" in listed.output
    assert "nan" not in listed.output


def test_a_date_without_a_queue_and_an_unknown_team_exit_2_saying_what_exists(
    built: pd.DataFrame,
) -> None:
    empty = runner.invoke(app, ["queue", "list", "--date", "2020-01-01"])
    assert empty.exit_code == 2
    assert f"no queue built for 2020-01-01; latest is {DAY}" in empty.output
    unknown = runner.invoke(app, ["queue", "claim", "--team", "sales", "--agent", "ann"])
    assert unknown.exit_code == 2
    assert "unknown team 'sales'; the teams are: " in unknown.output
    assert "customer-care" in unknown.output


def test_no_queue_yet_says_to_run_daily(churnguard_home: Path) -> None:
    result = runner.invoke(app, ["queue", "list"])
    assert result.exit_code == 2
    assert "no queue built yet; run `churnguard daily` first" in result.output


FORMULAS = ('=HYPERLINK("http://evil.example","click")', "@SUM(A1:A9)", "+1+1", "-2+3")


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_every_queue_csv_neutralises_formulas(churnguard_home: Path, tmp_path: Path) -> None:
    scored = make_scored(40)
    scored.loc[: len(FORMULAS) * 8 - 1, "customer_id"] = [
        f"{formula}{i}" for i in range(8) for formula in FORMULAS
    ]
    store = open_store()
    build_daily_queues(store, scored, None, DAY, OutreachConfig(control_fraction=0.2))
    store.close()
    claimed = runner.invoke(
        app, ["queue", "claim", "--team", "customer-care", "--n", "40", "--agent", "=1+1"]
    )
    assert claimed.exit_code == 0, claimed.output
    first = pd.read_csv(io.StringIO(claimed.stdout)).loc[0, "id"]
    outcome = ["queue", "outcome", str(first), "--state", "contacted", "--agent", "=1+1"]
    noted = runner.invoke(app, [*outcome, "--notes", "@cmd|' /C calc'!A0"])
    assert noted.exit_code == 0, noted.output
    items, control = tmp_path / "items.csv", tmp_path / "control.csv"
    for command, out in (("export", items), ("control", control)):
        result = runner.invoke(
            app, ["queue", command, "--date", DAY.isoformat(), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
    texts = {"claim": claimed.stdout, "export": items.read_text(), "control": control.read_text()}
    for name, text in texts.items():
        cells = _cells(text)
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], name
    exported = _cells(texts["export"])
    assert "'=1+1" in exported and "'@cmd|' /C calc'!A0" in exported
    assert any(cell.startswith("'=HYPERLINK") for cell in exported)
