"""The uplift step of `churnguard train`: the shell joins the imported contacts (warehouse) with the
shop's own worked queues (outreach store), which training alone may not import."""

from __future__ import annotations

from common.settings import get_settings
from outreach.store import open_store
from training.uplift import UpliftDataError, train_uplift


def train_uplift_from_history(horizon_days: int | None, promote: bool) -> str:
    """Train the uplift model on every contact so far; a shop without enough contact history is
    told why the prior in playbooks.yaml drives its queues instead."""
    store = open_store(get_settings().queue_database_url)
    try:
        worked = store.contact_history()
    finally:
        store.close()
    try:
        return train_uplift(worked, horizon_days=horizon_days, promote=promote).summary()
    except UpliftDataError as error:
        return f"uplift model not trained: {error}; the queues use the prior in playbooks.yaml"
