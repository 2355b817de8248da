"""The daily job on a real trained shop: everyone scored, snapshot published, queues built once."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

import churnguard.daily as daily
from common.settings import Settings
from features.publish import load_published_snapshot
from features.warehouse import connect
from outreach.rules import EXCLUSION_RULES, OutreachConfig
from outreach.store import open_store

RULES = EXCLUSION_RULES


@pytest.fixture()
def home(trained_home: Path, tmp_path: Path) -> Path:
    """A private copy of the trained home, so each test starts with empty queues."""
    copy = tmp_path / "home"
    shutil.copytree(trained_home, copy)
    return copy


def test_daily_scores_everyone_publishes_and_accounts_for_every_customer(home: Path) -> None:
    settings = Settings(home=home)
    report = daily.run_daily(settings)

    scores = pd.read_parquet(report.scores_path)
    assert len(scores) == report.customers_scored > 0
    assert scores["customer_id"].is_unique
    assert scores["churn_probability"].between(0, 1).all()
    published = load_published_snapshot(settings.snapshots_dir)
    assert published.as_of == report.as_of
    assert set(published.customer_ids) == set(scores["customer_id"])

    queues = report.queues
    assert queues.queued + sum(getattr(queues, rule) for rule in RULES) == report.customers_scored
    store = open_store(settings.queue_database_url)
    items = store.items(report.as_of)
    store.close()
    assert len(items) == queues.queued > 0
    assert items["reason_sentence"].str.len().gt(0).all()
    # no uplift model passed a gate here: the prior drives the queue, and the report says why
    assert queues.saving_source.startswith("prior from playbooks.yaml: no uplift model")
    assert "priority: expected saving from the prior" in daily.format_daily_report(report)
    assert (items["expected_saving"] > OutreachConfig().min_expected_saving).all()
    ranks = items.sort_values(["team", "priority_rank"])
    for _, team in ranks.groupby("team"):
        assert team["expected_saving"].is_monotonic_decreasing


def test_a_customer_a_past_campaign_contacted_without_effect_is_not_queued_again(
    home: Path,
) -> None:
    from features.contacts import read_contacts, silent_since_contact

    settings = Settings(home=home)
    report = daily.run_daily(settings)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        history = read_contacts(con)
    finally:
        con.close()
    scores = pd.read_parquet(report.scores_path)
    snapshot = pd.read_parquet(report.snapshot_path)
    silent = silent_since_contact(
        history,
        snapshot["customer_id"],
        snapshot["days_since_last_order"],
        report.as_of,
        OutreachConfig().silent_after_days,
        snapshot["usual_gap_days"],
    )
    assert silent, "the small shop's campaigns leave some customers who never came back"
    store = open_store(settings.queue_database_url)
    queued = set(store.items(report.as_of)["customer_id"])
    store.close()
    assert not queued & silent
    assert report.queues.silent_since_contact > 0
    assert set(scores["customer_id"]) >= silent


def test_rerun_for_the_same_date_duplicates_nothing(home: Path) -> None:
    settings = Settings(home=home)
    first = daily.run_daily(settings)
    second = daily.run_daily(settings, as_of=first.as_of)
    assert second.queues.already_built
    store = open_store(settings.queue_database_url)
    items = store.items(first.as_of)
    store.close()
    assert len(items) == first.queues.queued
    assert items["customer_id"].is_unique


def test_a_job_killed_before_the_queues_finishes_on_rerun(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=home)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed while building the queues")

    with monkeypatch.context() as patch:
        patch.setattr(daily, "build_daily_queues", killed)
        with pytest.raises(KeyboardInterrupt):
            daily.run_daily(settings)
    as_of = load_published_snapshot(settings.snapshots_dir).as_of  # published before the kill
    store = open_store(settings.queue_database_url)
    assert store.run_report(as_of) is None
    assert store.items(as_of).empty
    store.close()

    report = daily.run_daily(settings)
    assert not report.queues.already_built
    store = open_store(settings.queue_database_url)
    assert len(store.items(report.as_of)) == report.queues.queued
    store.close()


def test_reasons_are_computed_only_for_customers_who_can_reach_a_queue(home: Path) -> None:
    settings = Settings(home=home)
    config = OutreachConfig(
        min_churn_probability=0.0,
        team_capacity={
            "customer-care": 2,
            "service-recovery": 2,
            "marketing": 2,
            "account-management": 1,
        },
    )
    report = daily.run_daily(settings, config=config)
    budget = -(-daily.REASON_BUDGET_PER_SLOT * 7 // 0.9)
    assert report.reasons_computed <= budget < report.customers_scored
    scores = pd.read_parquet(report.scores_path)
    assert (scores["reasons"].map(len) > 0).sum() <= report.reasons_computed
    assert report.queues.over_capacity >= report.customers_scored - report.reasons_computed - (
        report.queues.cooldown
    )
    assert report.queues.queued <= 7


def test_default_as_of_is_the_day_after_the_data_for_an_old_export(home: Path) -> None:
    con = connect(Settings(home=home).warehouse_path, read_only=True)
    try:
        last = daily.last_event_day(con)
        assert daily.default_as_of(con, today=date(2099, 1, 1)) == last + timedelta(days=1)
        assert daily.default_as_of(con, today=last) == last
    finally:
        con.close()


def test_a_backfill_writes_its_day_but_never_moves_production_backwards(home: Path) -> None:
    settings = Settings(home=home)
    current = daily.run_daily(settings)
    backfill = daily.run_daily(settings, as_of=current.as_of - timedelta(days=17))

    assert load_published_snapshot(settings.snapshots_dir).as_of == current.as_of
    assert backfill.snapshot_path.exists() and backfill.scores_path.exists()
    assert pd.read_parquet(backfill.scores_path)["as_of"].iloc[0].date() == backfill.as_of
    assert backfill.queues.queued > 0 and not backfill.queues.already_built
    said = daily.format_daily_report(backfill)
    assert f"a backfill: the service keeps serving {current.as_of}" in said
    assert "published for the service" in daily.format_daily_report(current)


def test_the_published_snapshot_carries_each_customers_language_as_the_queue_does(
    home: Path,
) -> None:
    """/score by customer id says reasons in the language the daily job resolved for the customer
    (customers.language, else their texts', else CHURNGUARD_LANGUAGE): the one their queue item and
    draft are written in."""
    from features.publish import latest_pointer
    from models.pyfunc import load_scorer
    from serving.schemas import CustomerToScore
    from serving.scoring import score_request
    from serving.state import assemble, pointer_stamp

    settings = Settings(home=home)
    con = connect(settings.warehouse_path)
    con.execute("UPDATE customers SET language = 'ja-JP' WHERE hash(customer_id) % 2 = 0")
    stated = dict(con.execute("SELECT customer_id, language FROM customers").fetchall())
    con.close()
    report = daily.run_daily(settings, config=OutreachConfig(min_churn_probability=0.0))

    published = load_published_snapshot(settings.snapshots_dir)
    language_of = dict(zip(published.customer_ids, published.languages, strict=True))
    assert {language_of[c] for c in language_of if stated.get(c) == "ja-JP"} == {"ja"}
    assert "en" in set(language_of.values())
    store = open_store(settings.queue_database_url)
    items = store.items(report.as_of)
    store.close()
    assert {"ja", "en"} <= set(items["language"])
    assert (items["language"] == items["customer_id"].map(language_of)).all()

    scorer, version = load_scorer(settings.resolved_model_uri, settings.tracking_uri)
    loaded = assemble(
        scorer, version.version, published, pointer_stamp(latest_pointer(settings.snapshots_dir))
    )
    queued = items.drop_duplicates("customer_id").head(20)
    response, _ = score_request(
        [CustomerToScore(customer_id=c) for c in queued["customer_id"]],
        loaded,
        default_language=settings.language,
    )
    for result, (_, item) in zip(response.results, queued.iterrows(), strict=True):
        assert result.language == item["language"]
        if result.reasons:  # the queue records the reason its playbook answers, in the same words
            assert item["reason_sentence"] in [reason.sentence for reason in result.reasons]


def test_the_sleeping_dogs_a_past_contact_drove_away_are_not_queued_again(
    home: Path, small_shop: Path
) -> None:
    """The simulator's sleeping dogs are hidden; the ones a campaign contacted and who stopped
    ordering after it are visible in the history, and the queue leaves every one of them out."""
    from features.contacts import read_contacts
    from shopsim import read_truth

    settings = Settings(home=home)
    report = daily.run_daily(settings)
    truth = read_truth(small_shop)
    dogs = set(truth.loc[truth["response"] == "sleeping_dog", "customer_id"].astype(str))
    con = connect(settings.warehouse_path, read_only=True)
    try:
        history = read_contacts(con)
        orders = con.sql("SELECT customer_id, max(ordered_at) AS last FROM orders GROUP BY 1").df()
    finally:
        con.close()
    treated = history[history["group"] == "treated"]
    contacted = pd.to_datetime(treated.groupby("customer_id")["contacted_at"].max())
    last_order = orders.set_index("customer_id")["last"].reindex(contacted.index)
    driven_away = set(contacted.index[(last_order < contacted).to_numpy()]) & dogs
    scores = pd.read_parquet(report.scores_path)
    driven_away &= set(scores["customer_id"])
    assert driven_away, "the small shop's campaigns drove some sleeping dogs away"
    store = open_store(settings.queue_database_url)
    queued = set(store.items(report.as_of)["customer_id"])
    store.close()
    assert not queued & driven_away
