"""`churnguard score`: every customer active at a date, scored by a registered model, to Parquet or CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from common.names import CHAMPION_ALIAS
from common.settings import Settings, get_settings
from common.spreadsheet import write_csv
from features.catalogue import FEATURE_CATALOGUE_VERSION
from features.snapshot import build_snapshot
from features.warehouse import connect
from models.pyfunc import load_scorer
from training.shift import scoring_shift_warning

SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class ScoreSummary:
    out: Path
    rows: int
    model_version: str
    as_of: date
    by_band: dict[str, int]
    note: str | None = None  # e.g. scored without a champion

    def message(self) -> str:
        bands = ", ".join(f"{band} {n}" for band, n in self.by_band.items())
        text = (
            f"scored {self.rows} active customers at {self.as_of} with model v{self.model_version} "
            f"-> {self.out} ({bands})"
        )
        return text if self.note is None else f"warning: {self.note}\n{text}"


def write_batch_scores(
    as_of: date, out: Path, model_uri: str | None = None, settings: Settings | None = None
) -> ScoreSummary:
    """Columns: customer_id, churn_probability, risk_band, percentile, reasons (a JSON list of
    {code, feature, sentence, value, contribution}), model_version, as_of."""
    settings = settings or get_settings()
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise ValueError(f"--out {out}: expected a file ending in {' or '.join(SUFFIXES)}")
    scorer, version = load_scorer(
        model_uri, tracking_uri=settings.tracking_uri, fallback_to_latest=model_uri is None
    )
    note = None
    if model_uri is None and CHAMPION_ALIAS not in (version.aliases or []):
        gate = (version.tags or {}).get("gate_reasons", "not yet gated")
        note = (
            f"no {CHAMPION_ALIAS} yet: scored with the latest version v{version.version} "
            f"(its gate: {gate}); run `churnguard promote` once a model passes"
        )
    if scorer.feature_schema_version != FEATURE_CATALOGUE_VERSION:
        raise ValueError(
            f"model v{version.version} was trained on feature catalogue "
            f"{scorer.feature_schema_version}, this code computes {FEATURE_CATALOGUE_VERSION}: "
            "retrain (`churnguard train --promote`) or score with the matching code"
        )
    con = connect(settings.warehouse_path, read_only=True)
    try:
        snapshot = build_snapshot(con, as_of, lookback_days=settings.lookback_days)
    finally:
        con.close()
    shifted = scoring_shift_warning(scorer.metadata, snapshot)
    if shifted is not None:
        note = shifted if note is None else f"{note}\nwarning: {shifted}"
    scored = scorer.score_frame(snapshot, reasons=True)
    scored["reasons"] = [json.dumps(r) for r in scored["reasons"]]
    scored["model_version"] = str(version.version)
    scored["as_of"] = pd.Timestamp(as_of)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        write_csv(scored, out)
    else:
        scored.to_parquet(out, index=False)
    counts = scored["risk_band"].value_counts()
    return ScoreSummary(
        out=out,
        rows=len(scored),
        model_version=str(version.version),
        as_of=as_of,
        by_band={band: int(counts.get(band, 0)) for band in ("high", "medium", "low")},
        note=note,
    )
