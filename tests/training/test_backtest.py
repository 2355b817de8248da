"""Backtests: what the run would have scored at past dates, and what it chooses to register."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest

from training.backtest import (
    MEAN_NOISE_MULTIPLE,
    RULE_TOLERANCE,
    TREES_MIN_MARGIN,
    BacktestDate,
    backtest_dates,
    choose,
    lift_share,
)


def _date(model: float, bgnbd: float, recency: float, noise: float = 0.0) -> BacktestDate:
    figures = {k: {"roc_auc": v, "pr_auc": v, "lift_top_decile": 2.0, "ece": 0.01}
               for k, v in (("model", model), ("bgnbd", bgnbd), ("recency", recency))}  # fmt: skip
    figures["model"] |= {"margin_se_vs_bgnbd": noise, "margin_se_vs_recency": noise}
    return BacktestDate(date(2025, 1, 1), "strict", 100, 100, 0.3, figures)


def test_the_trees_are_chosen_only_when_they_beat_the_better_rule_beyond_its_noise():
    rules = {"bgnbd": 0.80, "recency": 0.78}
    assert choose([_date(0.82, 0.80, 0.78), _date(0.81, 0.80, 0.78)], rules)[0] == "trees"
    assert choose([_date(0.801, 0.80, 0.78)], rules)[0] == "bgnbd"  # a tie is the rule's
    worst = 0.80 - RULE_TOLERANCE - 0.001
    assert choose([_date(0.83, 0.80, 0.78), _date(worst, 0.80, 0.78)], rules)[0] == "bgnbd"
    # a mean margin inside its own noise is a tie: +0.004 at one date judged to +-0.005 (a few
    # hundred customers) is not a win, the same margin judged to +-0.001 is
    assert choose([_date(0.804, 0.80, 0.78, noise=0.005)], rules)[0] == "bgnbd"
    assert choose([_date(0.804, 0.80, 0.78, noise=0.001)], rules)[0] == "trees"
    # three dates judge the mean to noise / sqrt(3)
    error = MEAN_NOISE_MULTIPLE * 0.009 / 3**0.5
    assert choose([_date(0.80 + error + 1e-4, 0.80, 0.78, noise=0.009)] * 3, rules)[0] == "trees"
    assert choose([_date(0.80 + error - 1e-4, 0.80, 0.78, noise=0.009)] * 3, rules)[0] == "bgnbd"
    # nothing to replay: BG/NBD, whose fit at the labelled cutoffs says little about its fit at T
    assert choose([], {"bgnbd": 0.70, "recency": 0.75})[0] == "bgnbd"
    assert choose([], {"bgnbd": float("-inf"), "recency": 0.75})[0] == "recency"
    assert TREES_MIN_MARGIN > 0


def test_backtest_dates_step_back_half_a_horizon_and_need_a_label_window_before_them():
    cutoffs = [date(2024, 1, 1) + timedelta(days=7 * k) for k in range(60)]
    dates = backtest_dates(cutoffs, horizon_days=90)
    assert dates[0] == cutoffs[-1] and len(dates) == 3
    assert all((a - b).days >= 45 for a, b in pairwise(dates))
    # 12 months at a 182-day horizon: no date has a whole label window before it
    short = [date(2025, 4, 1) + timedelta(days=7 * k) for k in range(14)]
    assert backtest_dates(short, horizon_days=182) == []


def test_lift_share_reads_lift_against_the_best_possible_at_that_churn_rate():
    assert lift_share(2.0, 0.5) == pytest.approx(1.0)  # 50% churn: 2x is perfect
    assert lift_share(1.0, 0.1) == 0.0
    assert lift_share(5.5, 0.1) == pytest.approx(0.5)


def _protocol(shop, folder: Path) -> tuple[object, dict[str, float]]:
    """The black-box protocol in process: cut at T, ingest, train, score at T, judge at T."""
    from bench.bench_blackbox import START, _before, baselines_at, draw_orders
    from common.settings import Settings
    from features.ingest import ingest
    from training.metrics import roc_auc
    from training.score import write_batch_scores
    from training.train import train

    orders = draw_orders(shop)
    day = (START + timedelta(days=shop.days - shop.horizon_days)).date()
    cutoff = datetime(day.year, day.month, day.day)
    data = folder / "data"
    data.mkdir(parents=True)
    _before({"orders": orders}, cutoff)["orders"].to_parquet(data / "orders.parquet", index=False)
    settings = Settings(home=folder / "home")
    ingest(data, settings=settings, data_docs=False)
    result = train(horizon_days=shop.horizon_days, settings=settings)
    scores = pd.read_parquet(write_batch_scores(day, folder / "s.parquet", settings=settings).out)
    window = orders[(orders["ordered_at"] >= cutoff)
                    & (orders["ordered_at"] < cutoff + timedelta(days=shop.horizon_days))]  # fmt: skip
    churned = (~scores["customer_id"].isin(set(window["customer_id"]))).astype(int).to_numpy()
    base = baselines_at(orders, cutoff, scores["customer_id"], shop.horizon_days)
    return result, {
        "model": roc_auc(churned, scores["churn_probability"].to_numpy()),
        "better_rule": max(roc_auc(churned, base.bgnbd_p_no_purchase),
                           roc_auc(churned, base.recency_days)),
    }  # fmt: skip


@pytest.mark.slow
def test_the_backtest_verdict_agrees_in_sign_with_the_truth_at_T(tmp_path):
    from bench.bench_blackbox import Shop

    # Regular replenishment cycles: what the trees see in the gaps BG/NBD cannot; they should win.
    won, truth = _protocol(Shop("replenishment", 1_200, 800, 11, 60), tmp_path / "cycles")
    assert won.backtest.margin() > 0 and won.model_kind == "trees", won.summary()
    assert truth["model"] > truth["better_rule"], truth

    # BG/NBD's own buying process: BG/NBD is the truth, the trees cannot beat it.
    tied, truth = _protocol(Shop("bgnbd", 1_500, 800, 12, 60), tmp_path / "bgnbd")
    assert tied.backtest.margin() < TREES_MIN_MARGIN and tied.model_kind == "bgnbd", tied.summary()
    assert truth["model"] >= truth["better_rule"] - RULE_TOLERANCE, truth
