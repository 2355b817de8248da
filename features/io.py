"""Writing feature snapshots to files (Parquet or CSV), stamped with the catalogue version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from common.spreadsheet import write_csv
from features.catalogue import FEATURE_CATALOGUE_VERSION

CATALOGUE_VERSION_KEY = b"churnguard.feature_catalogue_version"
SUFFIXES = (".parquet", ".csv")


def default_snapshot_file(exports_dir: Path, as_of: date | datetime) -> Path:
    """Where `churnguard features --as-of` writes when no --out is given."""
    stamp = as_of.strftime("%Y-%m-%dT%H%M%S") if isinstance(as_of, datetime) else as_of.isoformat()
    return exports_dir / f"features_{stamp}.parquet"


def write_snapshot(snapshot: pd.DataFrame, path: Path) -> Path:
    """Write a snapshot as Parquet (catalogue version in the file's metadata) or CSV, by suffix."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ValueError(f"cannot write a snapshot to {path}: expected a name ending in {SUFFIXES}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        write_csv(snapshot, path, date_format="%Y-%m-%dT%H:%M:%S")
        return path
    table = pa.Table.from_pandas(snapshot, preserve_index=False)
    metadata = {
        **(table.schema.metadata or {}),
        CATALOGUE_VERSION_KEY: FEATURE_CATALOGUE_VERSION.encode(),
    }
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return path


def write_training_set(pieces: Iterable[pd.DataFrame], path: Path) -> tuple[Path, int]:
    """Stream training-set pieces (from `features.snapshot.iter_training_set`) into one Parquet file,
    holding one piece in memory at a time; return the path and the number of rows written."""
    path = Path(path)
    if path.suffix != ".parquet":
        raise ValueError(
            f"cannot stream a training set to {path}: expected a name ending in .parquet"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for piece in pieces:
            table = pa.Table.from_pandas(piece, preserve_index=False)
            if writer is None:
                metadata = {
                    **(table.schema.metadata or {}),
                    CATALOGUE_VERSION_KEY: FEATURE_CATALOGUE_VERSION.encode(),
                }
                writer = pq.ParquetWriter(path, table.schema.with_metadata(metadata))
            writer.write_table(table.cast(writer.schema))
            rows += len(piece)
    finally:
        if writer is not None:
            writer.close()
    return path, rows


def snapshot_catalogue_version(path: Path) -> str | None:
    """The catalogue version a Parquet snapshot was written with (None if it carries none)."""
    metadata = pq.read_schema(path).metadata or {}
    version = metadata.get(CATALOGUE_VERSION_KEY)
    return None if version is None else version.decode()


@dataclass(frozen=True)
class SnapshotExport:
    """What `export_snapshot` wrote: where, as of when, how many customers."""

    path: Path
    cutoff: datetime
    customers: int
    features: int


def export_snapshot(
    warehouse_path: Path, as_of: str, out: Path | None, exports_dir: Path, lookback_days: int
) -> SnapshotExport:
    """`churnguard features --as-of`: the point-in-time snapshot at `as_of`, written to `out` (or
    under `exports_dir`). Raises ValueError saying which option is wrong, FileNotFoundError when
    there is no warehouse yet."""
    from features.catalogue import FEATURES
    from features.snapshot import as_cutoff, build_snapshot
    from features.warehouse import connect

    try:
        cutoff = as_cutoff(as_of)
    except ValueError:
        raise ValueError(f"--as-of: {as_of!r} is not a date; expected YYYY-MM-DD") from None
    con = connect(warehouse_path, read_only=True)
    try:
        snapshot = build_snapshot(con, cutoff, lookback_days=lookback_days)
    finally:
        con.close()
    target = out if out is not None else default_snapshot_file(exports_dir, cutoff)
    try:
        path = write_snapshot(snapshot, target)
    except ValueError as error:
        raise ValueError(f"--out: {error}") from None
    return SnapshotExport(path, cutoff, len(snapshot), len(FEATURES))
