"""The uplift step of `churnguard train`: the shell joins the imported contacts (warehouse) with the
shop's own worked queues (outreach store), which training alone may not import."""

from __future__ import annotations

from common.settings import get_settings
from outreach.playbooks import Playbooks, load_playbooks
from outreach.saving import prior_coefficients
from outreach.store import open_store
from training.uplift import SavingPriorSpec, UpliftDataError, train_uplift


def saving_prior_spec(playbooks: Playbooks) -> SavingPriorSpec:
    """playbooks.yaml's saving prior, as the uplift training updates it from the campaigns."""
    return SavingPriorSpec(
        coefficients=prior_coefficients(playbooks),
        fade_days=playbooks.saving_prior.fade_days,
        fresh_days=playbooks.saving_prior.fresh_days,
    )


def train_uplift_from_history(horizon_days: int | None, promote: bool) -> str:
    """Train the uplift model on every contact so far; a shop without enough contact history is
    told why the prior in playbooks.yaml drives its queues instead."""
    store = open_store(get_settings().queue_database_url)
    try:
        worked = store.contact_history()
    finally:
        store.close()
    try:
        return train_uplift(
            worked,
            horizon_days=horizon_days,
            promote=promote,
            saving_prior=saving_prior_spec(load_playbooks()),
        ).summary()
    except UpliftDataError as error:
        return f"uplift model not trained: {error}; the queues use the prior in playbooks.yaml"
