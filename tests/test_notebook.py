"""notebooks/explore.ipynb runs top to bottom on a tiny corpus, run and checkpoint, and shows its outputs."""

from __future__ import annotations

from pathlib import Path

from src.app.core import REPO
from src.app.notebook import execute
from tests.app_fixtures import app_dirs


def test_explore_notebook_runs_and_shows_plots_sheet_and_audio(erk5_dir, trained_run, tmp_path_factory,
                                                                 monkeypatch):
    models, outputs = app_dirs(tmp_path_factory.getbasetemp() / "app_models", erk5_dir, trained_run)
    settings = {"MELODY_NOTEBOOK_SMALL": "1", "MELODY_NOTEBOOK_CORPUS": str(erk5_dir),
                "MELODY_NOTEBOOK_CACHE": str(tmp_path_factory.mktemp("nb_cache")),
                "MELODY_NOTEBOOK_RUN": str(trained_run), "MELODY_MODELS_DIR": str(models),
                "MELODY_OUTPUTS_DIR": str(outputs), "OMP_NUM_THREADS": "1"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    book = execute(REPO / "notebooks" / "explore.ipynb", timeout=180)
    outputs_by_kind: dict[str, int] = {}
    text = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            for kind in output.get("data", {}):
                outputs_by_kind[kind] = outputs_by_kind.get(kind, 0) + 1
            text.append(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")))
    assert outputs_by_kind.get("image/png", 0) >= 2  # the corpus figure and the training curves
    assert outputs_by_kind.get("image/svg+xml", 0) >= 1  # the sheet
    assert outputs_by_kind.get("text/html", 0) >= 1  # the audio widget
    joined = "\n".join(text)
    assert "27 songs kept of 27 read" in joined or "songs kept" in joined
    assert "LSTM + attention · bundled debug" in joined and "val/bits" in joined
    assert Path(trained_run).name in joined
