"""Logging set-up for every churnguard command: the one owner of it in a process.

A job's output is what the user needs: its own progress and summary, and warnings that mean
something. Libraries speak at WARNING and above; churnguard's own loggers at the chosen level.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import Final

# Libraries whose INFO lines are noise for a user (214 lines of great_expectations registering
# its decorators, 9 of Alembic per queue command, MLflow creating its tables).
QUIET_LIBRARIES: Final = (
    "great_expectations",
    "alembic",
    "mlflow",
    "bentoml",
    "urllib3",
    "httpx",
    "numexpr",
)


class QuietLibraries(logging.Filter):
    """Drops library records below `level` at the handler, whatever levels the libraries set on
    their own loggers at import (great_expectations does)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.level:
            return True
        return not record.name.startswith(QUIET_LIBRARIES)


class DropKnownNoise(logging.Filter):
    """MLflow warns on every model logged as a Python object that it is CloudPickled. churnguard's
    pyfunc class holds only file paths (booster text and JSON), so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CloudPickle" not in record.getMessage()


def set_up_logging(level: str) -> None:
    """Root at `level`, libraries at WARNING (or `level` if it is DEBUG), known noise dropped."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    library_level = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)
    # MLflow gives its loggers their own handler when it is imported, at this level.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", logging.getLevelName(library_level))
    logging.getLogger("mlflow.pyfunc").addFilter(DropKnownNoise())
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietLibraries(library_level))
        handler.addFilter(DropKnownNoise())
    # Deprecations inside libraries are theirs to fix, not the user's to read.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="great_expectations")
    # pyspark warns at import that it "does not yet fully support pandas >= 3.0.0" (MLflow's pyfunc
    # imports it): the Spark engine's parity tests cover the conversions churnguard uses.
    warnings.filterwarnings("ignore", category=FutureWarning, message="PySpark does not yet")
