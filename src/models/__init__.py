"""Models, by concept.

- nets/: plain networks (never importing Lightning), each stepped by `step(ids, state, context)`
  (nets/stepping.py), and the per-step inputs they read.
- modules/: the LightningModules that train them, one per model kind (`model._target_`), and metrics.
- generation/: a checked request in, melodies out: the meter plan, the one sampling loop, infilling,
  the VAE's modes.
- checkpoint.py: checkpoints read (as untrusted input, older layouts upgraded) and the bundled exports
  written.
"""
