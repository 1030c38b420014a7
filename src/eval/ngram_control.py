"""The n-gram control of the realism test: melodies of a Kneser-Ney n-gram counted on the same training
songs, drawn like the unseeded set, so the report shows where a simple baseline stands."""

from __future__ import annotations

import torch

from src.data.corpus import Corpus
from src.data.datamodule import split_array
from src.data.vocab import BOUNDARY_ID
from src.eval.keys import melody_key
from src.models.generation.loop import sample
from src.models.generation.sampling import Sampling
from src.models.generation.seeds import song_opening
from src.models.nets.ngram import NGramNet

ORDER = 5  # the n-gram experiment's default order


def ngram_melodies(corpus: Corpus, count: int, steps: int, generator: torch.Generator,
                   temperature: float = 1.0, normalize_key: bool = True,
                   ) -> tuple[list[list[str]], list[tuple[int, str]]]:
    """`count` melodies from an order-5 n-gram counted on the corpus's train split, from a song start,
    and the key each is scored in (estimated from its notes)."""
    tokens, targets = split_array(corpus, "train", ORDER - 1)  # every target after ORDER - 1 symbols
    windows = torch.from_numpy(tokens).unfold(0, ORDER - 1, 1)  # (N - ORDER + 2, ORDER - 1) views
    contexts = windows[torch.from_numpy(targets) - (ORDER - 1)]  # (T, ORDER - 1)
    net = NGramNet(len(corpus.vocab), ORDER)
    net.fit(contexts, torch.from_numpy(tokens[targets]))
    prompt = torch.full((count, ORDER - 1), BOUNDARY_ID, dtype=torch.long)  # a song start
    net.window = ORDER - 1
    drawn = sample(net, prompt, steps, Sampling(temperature=temperature), generator)
    melodies = [song_opening(corpus.vocab.decode(ids)) for ids in drawn]
    return melodies, [melody_key(m, normalize_key) for m in melodies]
