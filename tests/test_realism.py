"""The classifier two-sample test: indistinguishable sets score near 0.5, different ones near 1."""

from __future__ import annotations

from src.eval.keys import song_key
from src.eval.realism import features, two_sample


def _songs(corpus) -> tuple[list[list[str]], list[tuple[int, str]]]:
    songs = corpus.songs
    return [corpus.vocab.decode(corpus.song_tokens(s)) for s in songs], [song_key(s) for s in songs]


def monotone(melody: list[str]) -> list[str]:
    """The same rhythm on one pitch."""
    return ["60" if symbol.isdigit() else symbol for symbol in melody]


def test_a_set_against_itself_is_not_told_apart(erk5_corpus):
    melodies, keys = _songs(erk5_corpus)
    result = two_sample(melodies, keys, melodies, keys)
    assert result["count_a"] == result["count_b"] == len(melodies) == 27
    assert result["balanced_accuracy"] <= 0.6 and result["auc"] <= 0.6, result


def test_the_same_rhythms_on_one_pitch_are_told_apart(erk5_corpus):
    melodies, keys = _songs(erk5_corpus)
    result = two_sample([monotone(m) for m in melodies], keys, melodies, keys)
    assert result["balanced_accuracy"] >= 0.9 and result["auc"] >= 0.95, result


def test_features_are_relative_to_the_tonic():
    in_c = "60 _ 62 _ 64 _ 65 _ 67 _ _ _".split()
    in_d = "62 _ 64 _ 66 _ 67 _ 69 _ _ _".split()
    assert (features(in_c, (0, "major")) == features(in_d, (2, "major"))).all()
