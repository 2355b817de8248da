"""The artifact both sides share: a calibrated LightGBM churn model that can say why.

Serving and batch scoring call `models.pyfunc.load_scorer("models:/churnguard@champion")`, which
returns `(ChurnScorer, ModelVersion)`. A ChurnScorer holds:
- `feature_names` / `feature_schema_version` (features.catalogue's FEATURE_CATALOGUE_VERSION);
- `predict_proba(X)`: calibrated P(no order within `horizon_days`), X a float matrix with columns
  in `feature_names` order (NaN = missing; `matrix(frame)` builds it from a DataFrame by name);
- `explain(X, top_k=3)`: per row a list of `models.reasons.Reason` (code, feature, text, value,
  contribution), only features that raised this customer's risk and whose sentence is true of them;
- `percentile(p)`, `risk_band(p)`: against the customers active at the training's latest cutoff;
- `score_frame(frame, reasons=True)`: customer_id, churn_probability, risk_band, percentile, reasons.

Files: `scorer.py` (ChurnScorer), `prior.py` (the BG/NBD prior the trees boost from),
`calibration.py` (Platt / isotonic as plain numbers), `reasons.py` (the reason catalogue),
`pyfunc.py` (the MLflow pyfunc, logging and loading).
"""
