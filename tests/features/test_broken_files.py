"""Files an operator meets: a header far too wide, a file cut mid-write, a semicolon export.
Each through `churnguard ingest`: exit 2 with one line saying what and what to do, or every row
loaded or quarantined."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from churnguard.cli import app
from features.validation import MAX_HEADER_COLUMNS

runner = CliRunner()
HEADER = b"order_id,customer_id,ordered_at,amount,status"


def _ingest(data: Path):
    return runner.invoke(app, ["ingest", str(data), "--no-progress"])


def _write(tmp_path: Path, content: bytes) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_bytes(content)
    return data


def test_a_header_wider_than_the_bound_is_refused_with_the_bound(churnguard_home, tmp_path):
    wide = HEADER + b"".join(b",x%d" % i for i in range(80_000))
    result = _ingest(_write(tmp_path, wide + b"\no1,c1,2025-01-01T10:00:00,1,placed\n"))
    assert result.exit_code == 2
    assert f"expected at most {MAX_HEADER_COLUMNS:,}" in result.output
    assert "80,005 columns" in result.output
    assert not (churnguard_home / "warehouse.duckdb").exists()


def test_a_header_of_millions_of_duplicate_names_is_refused_not_hung(churnguard_home, tmp_path):
    result = _ingest(_write(tmp_path, HEADER + b",x" * 2_000_000 + b"\n"))
    assert result.exit_code == 2 and "line 1 (header) is longer than" in result.output


def test_a_file_cut_mid_write_quarantines_its_last_line(churnguard_home, tmp_path):
    content = (
        b"order_id,customer_id,ordered_at,status,amount\n"
        b"o1,c1,2025-01-01T10:00:00,placed,12.5\n"
        b"o2,c2,2025-01-02T10:00:00,placed,76."  # was 76.76 when the copy was cut
    )
    result = _ingest(_write(tmp_path, content))
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(churnguard_home / "warehouse.duckdb"), read_only=True)
    try:
        loaded = con.execute("SELECT order_id, amount FROM orders").fetchall()
        quarantined = con.execute("SELECT source_line, broken_rules FROM quarantine").fetchall()
    finally:
        con.close()
    assert loaded == [("o1", 12.5)]
    assert quarantined == [(3, ["orders.truncated"])]


def test_a_semicolon_separated_file_says_so(churnguard_home, tmp_path):
    content = b"order_id;customer_id;ordered_at;amount\no1;c1;2025-01-01T10:00:00;1\n"
    result = _ingest(_write(tmp_path, content))
    assert result.exit_code == 2
    assert "separated by semicolons" in result.output and "','" in result.output


def test_a_file_cut_inside_its_last_line_stops_the_table_saying_so(churnguard_home, tmp_path):
    content = HEADER + b"\no1,c1,2025-01-01T10:00:00,12.5,placed\no2,c2,2025-01-0"
    result = _ingest(_write(tmp_path, content))
    assert result.exit_code == 2
    assert "cut mid-write" in result.output and "line 3" in result.output
