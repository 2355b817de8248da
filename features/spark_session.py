"""The one owner of the process's Spark session: started on first use, configured from settings.

Nothing here runs at import. Under `spark-submit` the session (and its master, memory, executors)
comes from spark-submit; churnguard's settings only fill what spark-submit left unset. The session
runs in UTC so the warehouse's naive UTC timestamps keep their instants.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from typing import TYPE_CHECKING

from common.settings import Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_lock = threading.Lock()
_session: SparkSession | None = None


class SparkUnavailableError(RuntimeError):
    """Spark cannot start here (no Java, or no pyspark): the message says what to install."""


def java_problem() -> str | None:
    """Why Spark cannot start on this machine, or None when a JVM is there."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.path.exists(os.path.join(java_home, "bin", "java")):
        return None
    if shutil.which("java"):
        return None
    return (
        "the Spark engine needs Java 17 or later and none was found (no JAVA_HOME, no java on PATH): "
        "install openjdk-17-jre-headless (Debian/Ubuntu) or set JAVA_HOME"
    )


def session_config(settings: Settings) -> dict[str, str]:
    """What churnguard sets on a session it starts; a cluster's spark-submit settings win."""
    return {
        "spark.master": settings.spark_master,
        "spark.app.name": "churnguard",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": settings.spark_warehouse_location,
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        "spark.ui.enabled": "false",  # no web UI port taken on a shared machine
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.bindAddress": "127.0.0.1"
        if settings.spark_master.startswith("local")
        else "",
        "spark.driver.host": "127.0.0.1" if settings.spark_master.startswith("local") else "",
        "spark.pyspark.python": sys.executable,
        "spark.executorEnv.PYTHONHASHSEED": "0",
    }


def _submitted_config() -> set[str]:
    """Keys spark-submit already set (--master, --conf ...): under spark-submit the JVM is running."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:
        return set()
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return {key for key, _ in SparkConf().getAll()}


def get_spark(settings: Settings | None = None) -> SparkSession:
    """The process's Spark session, started on first call (later calls return the same one)."""
    global _session
    with _lock:
        if _session is not None and not _session.sparkContext._jsc.sc().isStopped():
            return _session
        problem = java_problem()
        if problem is not None:
            raise SparkUnavailableError(problem)
        try:
            from pyspark.sql import SparkSession
        except ImportError as error:  # pragma: no cover - pyspark is a dependency
            raise SparkUnavailableError(f"pyspark is not installed: {error}") from error
        settings = settings or get_settings()
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        submitted = _submitted_config()
        builder = SparkSession.builder
        for key, value in session_config(settings).items():
            if value and key not in submitted:
                builder = builder.config(key, value)
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        return _session


def stop_spark() -> None:
    """Stop the session (the JVM exits with the process); the next get_spark starts a new one."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
