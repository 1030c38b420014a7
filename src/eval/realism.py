"""A classifier two-sample test: can a simple classifier tell one set of melodies from another?

Each melody becomes a vector of per-melody features (the scalars of `src.eval.stats.melody_stats`,
the shares of its pitch classes relative to its tonic, and the shares of its note durations). A
standardized logistic regression is trained to tell set A from set B, scored by stratified k-fold
cross-validation (every melody predicted by a model that never saw it): balanced accuracy and ROC AUC.
The classes are weighted by the inverse of their sizes: unweighted, a classifier given 256 generated
melodies against 87 songs leans toward calling everything generated, and its balanced accuracy at the
0.5 threshold reads low (by 0.03-0.09 on this project's models), so sets of any size compare.
0.5 means the sets cannot be told apart by these features; 1.0 means they always can. Run beside a
control (training songs against held-out songs), whose figures show what "as real as real" reads.
`realism_tests` runs the report's tests: each generated set, that control, and an n-gram's melodies.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from src.eval.keys import song_key
from src.eval.ngram_control import ngram_melodies
from src.eval.stats import SCALARS, duration_histogram, melody_stats, pitch_class_histogram

FOLDS = 5


def features(melody: list[str], key: tuple[int, str]) -> np.ndarray:
    """(len(SCALARS) + 12 + duration bins,) float64 features of one melody in its key."""
    tonic, mode = key
    stats = melody_stats(melody, tonic, mode)
    scalars = [0.0 if math.isnan(stats[name]) else stats[name] for name in SCALARS]
    pitch_classes = np.roll(pitch_class_histogram(melody), -tonic)  # relative to the tonic
    durations = duration_histogram(melody)
    return np.concatenate([scalars, _shares(pitch_classes), _shares(durations)])


def two_sample(a: list[list[str]], a_keys: list[tuple[int, str]], b: list[list[str]],
               b_keys: list[tuple[int, str]], seed: int = 0,
               classifier: str = "logistic") -> dict[str, float]:
    """Cross-validated balanced accuracy and AUC of a classifier telling set `a` from set `b`: the
    standardized logistic regression, or (`boosting`) gradient-boosted trees on the same features, a
    stronger judge of feature interactions (both weight the classes by the inverse of their sizes)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = [features(m, k) for m, k in zip(a, a_keys, strict=True)]
    rows += [features(m, k) for m, k in zip(b, b_keys, strict=True)]
    x, y = np.stack(rows), np.array([1] * len(a) + [0] * len(b))
    folds = min(FOLDS, len(a), len(b))
    if folds < 2:
        return {"balanced_accuracy": math.nan, "auc": math.nan, "count_a": len(a), "count_b": len(b)}
    if classifier == "boosting":
        model = HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)
    else:
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(max_iter=1000, C=1.0, class_weight="balanced"))
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    p = cross_val_predict(model, x, y, cv=split, method="predict_proba")[:, 1]
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, p >= 0.5)),
        "auc": float(roc_auc_score(y, p)),
        "count_a": len(a), "count_b": len(b),
    }


def realism_tests(trained, train_songs: list[dict], real: list[list[str]], heldout_songs: list[dict],
                  generated: dict, request, normalize_key: bool) -> dict:
    """The classifier two-sample test of each generated set against the held-out songs, beside two
    controls: as many training songs (drawn with `rng_seed`), and an order-5 n-gram's melodies counted
    on the same training songs and drawn like the unseeded set.

    `trained` is the training Corpus, `generated` maps a set's name to (melodies, keys, seed length,
    meters), `request` is the unseeded set's GenerationRequest (rng_seed, num_samples, steps, temperature).
    """
    real_keys, seed = [song_key(s) for s in heldout_songs], request.rng_seed
    pick = np.random.default_rng(seed).permutation(len(train_songs))[:len(heldout_songs)]
    control = [train_songs[i] for i in sorted(pick)]
    result = {"train_songs": two_sample([trained.vocab.decode(trained.song_tokens(s)) for s in control],
                                        [song_key(s) for s in control], real, real_keys, seed)}
    generator = torch.Generator().manual_seed(seed)
    ngram = ngram_melodies(trained, request.num_samples, request.steps, generator, request.temperature,
                           normalize_key)
    result["ngram"] = two_sample(*ngram, real, real_keys, seed)
    for name, (melodies, keys, _, _) in generated.items():
        result[name] = two_sample(melodies, keys, real, real_keys, seed)
    return result


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))

