"""Training: cutoffs and the time split, LightGBM on a BG/NBD prior, calibration, baselines,
evaluation, MLflow logging, the registry and its promotion gate, batch scoring.

Jobs (wired to the CLI): `train.train` (`churnguard train`), `registry.promote`
(`churnguard promote`), `score.write_batch_scores` (`churnguard score`). Pure parts: `split`,
`metrics`, `calibration`, `baselines`, `registry.decide` (the gate), `evaluate`.
"""
