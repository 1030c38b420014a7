"""Models: plain networks (never importing Lightning), the LightningModules that train them (one per model
kind, named by `model._target_`), sampling and generation, metrics, and checkpoint loading."""
