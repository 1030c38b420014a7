"""The LightningModules: one per model kind (modules/kinds.py: the allowlist `MODULES` and what each kind
trains on and can generate), their shared base (base.py), the VAE's (vae.py), the n-gram's (ngram.py),
the metrics (metrics.py) and the fill-in-the-middle order of a training window (fill_order.py)."""
