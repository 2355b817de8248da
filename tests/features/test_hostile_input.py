"""Hostile files through `churnguard ingest`: never a traceback, exit 0 or 2 with a clear message,
and every row read is either loaded or quarantined (0 rows lost)."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from churnguard.cli import app

HEADER = b"order_id,customer_id,ordered_at,amount,status\n"


def _hostile_rows() -> list[bytes]:
    """One row per trick, plus good rows around them."""
    long_text = b"C" * 1_000_000
    return [
        b"o1,c1,2025-01-02T10:00:00,12.5,delivered",
        b"o2," + long_text + b",2025-01-03T10:00:00,10,placed",
        b"o3,c\x003,2025-01-04T10:00:00,10,placed",  # a NUL byte
        b"o4,caf\xe9,2025-01-05T10:00:00,10,placed",  # latin-1, not UTF-8
        "o5,café,2025-01-05T10:00:00,10,placed".encode(),  # UTF-8
        b"o6,c6,2025-01-06T10:00:00,1e400,placed",  # overflows a double
        b"o7,c7,2025-01-07T10:00:00,99999999999999999999999999999999999999,placed",
        b"o8,c8,9999-12-31T23:59:59,10,placed",
        b"o9,c9,0001-01-01T00:00:00,10,placed",
        b"o10,c10,2025-13-45T99:00:00,10,placed",
        b"o11,c11,2025-01-08T10:00:00,-5,placed",
        b"o12,c12,2025-01-08T10:00:00,NaN,shipped",
        b"o13,c13,2025-01-08T10:00:00,10,teleported",
        b"o1,c1,2025-01-02T10:00:00,12.5,delivered",  # duplicate key
        b'o16,"c""16",2025-01-09T10:00:00+05:30,10,placed',
        b"o17,\xff\xfe\xfd,2025-01-09T10:00:00,10,placed",
        b"o18,c18,2025-01-10T10:00:00,20,delivered",
    ]


def _file_sets(root: Path) -> dict[str, Path]:
    rng = random.Random(7)
    sets = {}

    def make(name: str, files: dict[str, bytes]) -> None:
        folder = root / name
        folder.mkdir(parents=True)
        for filename, content in files.items():
            (folder / filename).write_bytes(content)
        sets[name] = folder

    make("random_bytes_csv", {"orders.csv": rng.randbytes(64_000)})
    make("random_bytes_parquet", {"orders.parquet": rng.randbytes(64_000)})
    make("one_column", {"orders.csv": b"order_id\n1\n2\n3\n"})
    make("empty_file", {"orders.csv": b""})
    make("header_only", {"orders.csv": HEADER})
    ragged = [b"o14,c14,2025-01-09T10:00:00,10", b"o15,c15,2025-01-09T10:00:00,10,placed,x,y"]
    make("ragged_rows", {"orders.csv": HEADER + b"\n".join([*_hostile_rows(), *ragged]) + b"\n"})
    make("hostile_rows", {"orders.csv": HEADER + b"\n".join(_hostile_rows()) + b"\n"})
    make(
        "hostile_rows_and_random_feedback",
        {
            "orders.csv": HEADER + b"\n".join(_hostile_rows()) + b"\n",
            "feedback.csv": rng.randbytes(8_000),
        },
    )
    make(
        "utf16",
        {
            "orders.csv": (HEADER + b"o1,c1,2025-01-02T10:00:00,12.5,placed\n")
            .decode()
            .encode("utf-16")
        },
    )
    return sets


@pytest.mark.slow
def test_hostile_files_end_cleanly_and_lose_no_row(churnguard_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outcomes = {}
    for name, folder in _file_sets(tmp_path / "inputs").items():
        result = runner.invoke(app, ["ingest", str(folder), "--no-progress"])
        output = result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            name,
            repr(result.exception),
        )
        assert "Traceback" not in output, (name, output[-2000:])
        assert result.exit_code in (0, 2), (name, result.exit_code, output[-2000:])
        if result.exit_code == 2:
            assert output.strip().splitlines()[-1].startswith("error: "), (name, output[-500:])
            assert len(output) < 20_000, name  # says what, not the whole hostile file back
        outcomes[name] = result.exit_code
    assert outcomes["hostile_rows"] == 0
    # a malformed file (ragged lines, not UTF-8 at all, not Parquet) is refused as a whole
    assert outcomes["ragged_rows"] == outcomes["one_column"] == outcomes["utf16"] == 2

    con = duckdb.connect(str(churnguard_home / "warehouse.duckdb"), read_only=True)
    try:
        runs = con.execute(
            "SELECT data_dir, rows_read, rows_loaded, rows_quarantined FROM ingest_runs"
        ).fetchall()
        orders = con.execute("SELECT order_id, customer_id FROM orders").fetchall()
    finally:
        con.close()
    assert runs, "no ingest run succeeded"
    for data_dir, read, loaded, quarantined in runs:
        assert read == loaded + quarantined, data_dir
    hostile = [r for r in runs if r[0].endswith("hostile_rows")]
    assert hostile and hostile[0][1] == len(_hostile_rows())
    loaded_ids = {order_id for order_id, _ in orders}
    assert {"o1", "o5", "o18"} <= loaded_ids  # the good rows among the bad ones were kept
    assert "o4" not in loaded_ids and "o17" not in loaded_ids  # not UTF-8: quarantined
