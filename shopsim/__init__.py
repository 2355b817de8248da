"""The synthetic shop every test, benchmark and the demo stands on.

`config` (what to simulate) → `simulation` (pure functions over arrays) → `writer` (the contract's
Parquet tables and the ground truth); `texts` holds the feedback wording, `shop` ties them together.
"""

from shopsim.config import (
    EFFECT_MODELS,
    ContactEffects,
    Dynamics,
    Incident,
    OutreachContact,
    Region,
    ShopConfig,
    ShopSummary,
)
from shopsim.shop import generate_shop, read_truth, summarize_shop
from shopsim.simulation import Simulation, simulate, true_churn_probability

__all__ = [
    "EFFECT_MODELS",
    "ContactEffects",
    "Dynamics",
    "Incident",
    "OutreachContact",
    "Region",
    "ShopConfig",
    "ShopSummary",
    "Simulation",
    "generate_shop",
    "read_truth",
    "simulate",
    "summarize_shop",
    "true_churn_probability",
]
