"""Typed settings: every knob has an environment variable `CHURNGUARD_<NAME>` and a default.

Nothing here touches the disk at import; `Settings.ensure_home()` creates folders when a job needs them.
"""

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.names import CHAMPION_URI, DEFAULT_EXPERIMENT


class Settings(BaseSettings):
    """All of churnguard's configuration, read from the environment (and an optional `.env`)."""

    model_config = SettingsConfigDict(
        env_prefix="CHURNGUARD_", env_file=".env", extra="ignore", frozen=True
    )

    home: Path = Field(
        Path(".churnguard"),
        description="Folder holding all local state: warehouse, reports, MLflow store, queues, exports.",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "CHURNGUARD_MLFLOW_TRACKING_URI"),
        description="MLflow tracking server; default is a SQLite store in CHURNGUARD_HOME.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the outreach queue database; default is SQLite in CHURNGUARD_HOME.",
    )
    model_uri: str | None = Field(
        None,
        description="Model the service and batch scoring use; default models:/churnguard@champion.",
    )
    experiment: str = Field(DEFAULT_EXPERIMENT, description="MLflow experiment for training runs.")
    horizon_days: int = Field(
        90, ge=7, le=730, description="Churn = no order within this many days."
    )
    lookback_days: int = Field(
        365,
        ge=30,
        description="A customer is active at T with an order in this many days before T.",
    )
    language: str = Field(
        "en",
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="The shop's language (BCP 47, e.g. en, ja): for customers with no language of "
        "their own and no texts, and for texts too short to tell.",
    )
    log_level: str = Field("INFO", description="Log level of the CLI and the service.")
    risk_band_medium: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Risk band 'medium' from this calibrated churn probability up (below: 'low').",
    )
    risk_band_high: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Risk band 'high' from this calibrated churn probability up.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Where ingest, features, train, score and daily run: DuckDB on one machine, or Spark.",
    )
    spark_warehouse: str | None = Field(
        None,
        description="Spark engine: folder (or s3a://, abfss://, hdfs:// URI) of the Parquet warehouse; "
        "default CHURNGUARD_HOME/spark-warehouse.",
    )
    spark_master: str = Field(
        "local[2]",
        description="Spark engine: the master (local[N] here; spark-submit --master overrides it).",
    )
    spark_driver_memory: str = Field(
        "2g",
        description="Spark engine: driver JVM memory (ignored when spark-submit starts the JVM).",
    )
    spark_shuffle_partitions: int = Field(
        4, ge=1, description="Spark engine: spark.sql.shuffle.partitions (a few per core)."
    )

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.home_dir / "warehouse.duckdb"

    @property
    def spark_warehouse_location(self) -> str:
        """Where the Spark engine keeps its Parquet tables: a local path or a cluster URI."""
        if self.spark_warehouse is None:
            return str(self.home_dir / "spark-warehouse")
        location = self.spark_warehouse
        return location if "://" in location else str(Path(location).expanduser().resolve())

    @property
    def reports_dir(self) -> Path:
        return self.home_dir / "reports"

    @property
    def quarantine_dir(self) -> Path:
        return self.home_dir / "quarantine"

    @property
    def snapshots_dir(self) -> Path:
        return self.home_dir / "snapshots"

    @property
    def exports_dir(self) -> Path:
        return self.home_dir / "exports"

    @property
    def api_keys_path(self) -> Path:
        return self.home_dir / "api_keys.json"

    @property
    def monitor_path(self) -> Path:
        """The latest `churnguard monitor` figures: written by training, read by the service."""
        return self.home_dir / "monitor.json"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.home_dir / "mlflow-artifacts"

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def queue_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'outreach.db'}"

    @property
    def resolved_model_uri(self) -> str:
        return self.model_uri or CHAMPION_URI

    def ensure_home(self) -> Path:
        """Create the local state folders (0700: state is its owner's alone); called by jobs,
        never at import."""
        from common.files import private_dir

        for folder in (
            self.home_dir,
            self.reports_dir,
            self.quarantine_dir,
            self.snapshots_dir,
            self.exports_dir,
            self.mlflow_artifacts_dir,
        ):
            private_dir(folder)
        return self.home_dir


def get_settings() -> Settings:
    """Settings as the environment says now (tests change the environment between calls)."""
    return Settings()
