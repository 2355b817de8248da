"""Publishing a feature snapshot for the online path: the daily job writes, the service reads.

A snapshot is a Parquet file `features_<as_of>.parquet` (customer_id + feature columns) in
`CHURNGUARD_HOME/snapshots/`, and `latest.json` points at the newest one. The pointer is replaced
atomically (a temporary file unique to the writer, then a rename), so a reader never sees a
half-written snapshot, and only forwards: a backfill publishes its own day's file but never points
production back at an older day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from common.files import run_lock, write_atomically, write_text_atomically

LATEST_POINTER = "latest.json"


@dataclass(frozen=True)
class PublishedSnapshot:
    """A snapshot as the service holds it: a float matrix and an index from customer id to row."""

    as_of: date
    feature_names: tuple[str, ...]
    catalogue_version: str
    customer_ids: np.ndarray
    matrix: np.ndarray  # float64, one row per customer, columns in feature_names order
    row_of: dict[str, int]
    path: Path
    expected_saving: np.ndarray | None = None  # the day's decision per row, when published with it
    languages: np.ndarray | None = None  # each row's language as the daily job resolved it

    def lookup(self, customer_id: str) -> np.ndarray | None:
        row = self.row_of.get(customer_id)
        return None if row is None else self.matrix[row]


PUBLISH_WAIT_SECONDS = 60.0


def write_parquet_atomically(frame: pd.DataFrame, path: Path) -> Path:
    """Write next to `path` under a name unique to this writer, then rename into place: a reader
    sees the old file or the new one, and two writers never share a half-written file."""
    return write_atomically(path, lambda temporary: frame.to_parquet(temporary, index=False))


def publish_snapshot(
    snapshot: pd.DataFrame,
    snapshots_dir: Path,
    as_of: date,
    feature_names: tuple[str, ...],
    catalogue_version: str,
    expected_saving: np.ndarray | None = None,
    languages: np.ndarray | list[str] | None = None,
) -> Path:
    """Write the snapshot and move the `latest.json` pointer to it unless the pointer already names
    a later day (a backfill); return the Parquet path. `expected_saving`: the daily job's best
    expected saving per row, served beside the score; `languages`: each customer's language (the
    one their queue items are written in), so /score says reasons in it too."""
    missing = [name for name in ("customer_id", *feature_names) if name not in snapshot.columns]
    if missing:
        raise ValueError(f"snapshot to publish lacks columns {missing}")
    published = snapshot[["customer_id", *feature_names]]
    if expected_saving is not None:
        published = published.assign(expected_saving=np.asarray(expected_saving, dtype="float64"))
    if languages is not None:
        published = published.assign(language=np.asarray(languages, dtype=object))
    path = write_parquet_atomically(
        published,
        snapshots_dir / f"features_{as_of.isoformat()}.parquet",
    )
    pointer = {
        "path": path.name,
        "as_of": as_of.isoformat(),
        "feature_names": list(feature_names),
        "catalogue_version": catalogue_version,
        "published_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "customers": len(snapshot),
    }
    with run_lock(snapshots_dir / ".publish.lock", "publication", PUBLISH_WAIT_SECONDS):
        if (published_day(snapshots_dir) or as_of) > as_of:
            return path
        write_text_atomically(snapshots_dir / LATEST_POINTER, json.dumps(pointer, indent=2))
    return path


def latest_pointer(snapshots_dir: Path) -> dict | None:
    """The pointer's content, or None when nothing was published yet."""
    pointer_path = snapshots_dir / LATEST_POINTER
    if not pointer_path.exists():
        return None
    return json.loads(pointer_path.read_text())


def published_day(snapshots_dir: Path) -> date | None:
    """The day production serves (the pointer's as_of); None when none, or unreadable."""
    try:
        pointer = latest_pointer(snapshots_dir)
        return None if pointer is None else date.fromisoformat(pointer["as_of"])
    except (ValueError, OSError, KeyError, TypeError):  # an unreadable pointer is replaced
        return None


def load_published_snapshot(snapshots_dir: Path) -> PublishedSnapshot | None:
    """Load the newest published snapshot into memory, or None when there is none yet."""
    pointer = latest_pointer(snapshots_dir)
    if pointer is None:
        return None
    path = snapshots_dir / pointer["path"]
    feature_names = tuple(pointer["feature_names"])
    frame = pd.read_parquet(path)
    absent = [name for name in ("customer_id", *feature_names) if name not in frame.columns]
    if absent:
        raise ValueError(f"published snapshot {path} lacks columns {absent}")
    customer_ids = frame["customer_id"].astype(str).to_numpy()
    matrix = frame[list(feature_names)].to_numpy(dtype=np.float64, na_value=np.nan)
    return PublishedSnapshot(
        as_of=date.fromisoformat(pointer["as_of"]),
        feature_names=feature_names,
        catalogue_version=pointer["catalogue_version"],
        customer_ids=customer_ids,
        matrix=np.ascontiguousarray(matrix),
        row_of={customer_id: row for row, customer_id in enumerate(customer_ids)},
        path=path,
        expected_saving=frame["expected_saving"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "expected_saving" in frame.columns
        else None,
        languages=frame["language"].astype(str).to_numpy() if "language" in frame.columns else None,
    )
