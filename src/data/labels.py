"""Each tune's labels beside its notes: the collection it comes from, its subset (an Essen file's name:
`erk`, `han`, `kinder`, ...), its style (the collection, or `essen_SUBSET`) and its tune type from the ABC
`R:` field, normalised (`Reel`, `reel`, ` reel ` are one type; `slipjig` is `slip jig`; unknown stays
unknown). Pure Python on a tune's corpus name, source path and `R:` text.
"""

from __future__ import annotations

import re
from pathlib import PurePath

UNKNOWN = "unknown"
# music21's folders of folk tunes -> the collection's name (data.corpus names them alike)
COLLECTIONS = {"essenFolksong": "essen", "oneills1850": "oneills", "ryansMammoth": "ryans",
               "airdsAirs": "airds", "miscFolk": "misc"}
# R: words as the collections write them -> one tune type
_TYPE_WORDS = {
    "reel": "reel", "reels": "reel", "jig": "jig", "jigs": "jig", "double jig": "jig", "single jig": "jig",
    "slip jig": "slip jig", "slipjig": "slip jig", "slip-jig": "slip jig", "hornpipe": "hornpipe",
    "hornpipes": "hornpipe", "strathspey": "strathspey", "polka": "polka", "clog": "clog", "air": "air",
    "slow air": "air", "march": "march", "waltz": "waltz", "fling": "fling", "highland fling": "fling",
    "slide": "slide", "mazurka": "mazurka", "set dance": "set dance", "walkaround": "walkaround",
    "schottische": "schottische", "barndance": "barndance", "barn dance": "barndance", "gavotte": "gavotte",
    "song": "song", "minuet": "minuet", "quickstep": "march",
}
# every tune type, `unknown` first: the ids a model reads (src/data/plans.py); a fixed list, so that
# models trained on different collections read a type alike
TUNE_TYPES = (UNKNOWN, *sorted(set(_TYPE_WORDS.values())))


def tune_type(rhythm: str | None) -> str:
    """The normalised tune type of an `R:` field's text; `unknown` when empty or not a known type."""
    words = re.sub(r"[^a-z ]+", " ", (rhythm or "").lower())
    words = " ".join(words.split())
    return _TYPE_WORDS.get(words, _TYPE_WORDS.get(words.removesuffix("s"), UNKNOWN))


def collection_of(corpus: str, source: str) -> tuple[str, str]:
    """(collection, subset) of a tune: the folder its source lies in under the corpus root (for
    `data.corpus=folk` a music21 folder, named as data.corpus names it; in a folder of the user's, a
    subfolder: `irish/`, `scottish/`), else the corpus's name (a folder's: its name); the subset is an
    Essen file's name without its number (`erk5.abc`: `erk`), else empty."""
    path = PurePath(source)
    if corpus.startswith("essen"):
        collection = "essen"
    elif len(path.parts) > 1:
        collection = COLLECTIONS.get(path.parts[0], path.parts[0])
    else:
        collection = corpus if "/" not in corpus else PurePath(corpus).name
    subset = re.sub(r"\d+$", "", path.stem) if collection == "essen" else ""
    return collection, subset


def style_of(collection: str, subset: str) -> str:
    """The style a model is asked for: the collection, or `essen_SUBSET` for one of Essen's."""
    return f"{collection}_{subset}" if subset else collection


def tune_labels(corpus: str, source: str, rhythm: str | None) -> dict[str, str]:
    """A song record's labels: collection, subset, style and tune type."""
    collection, subset = collection_of(corpus, source)
    return {"collection": collection, "subset": subset, "style": style_of(collection, subset),
            "tune_type": tune_type(rhythm)}
