"""The service's own knobs, each with a `CHURNGUARD_<NAME>` environment variable and a default.

Shared settings (home, tracking URI, model URI, log level) come from `common.settings`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHURNGUARD_", env_file=".env", extra="ignore", frozen=True
    )

    reload_interval_seconds: float = Field(
        30.0,
        gt=0,
        description="How often the service checks for a new champion and a new snapshot.",
    )
    max_request_bytes: int = Field(
        2_000_000, ge=1_024, description="Largest request body accepted; larger ones get 413."
    )
    api_keys: str | None = Field(
        None,
        description="Extra API keys as hashes: 'name:role,role:sha256hex;...' (see serving.keys).",
    )
    log_salt: str = Field(
        "", description="Secret mixed into the hashes that stand for customer ids in the logs."
    )


def get_serving_settings() -> ServingSettings:
    return ServingSettings()
