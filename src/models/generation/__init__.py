"""Generation, in one place: a checked request in, melodies out.

| file | what it holds |
| --- | --- |
| request.py | `GenerationRequest`: every setting and its default, checked once; `Generation` |
| generate.py | `generate(module, request)`: key, meters, seeds, then each mode's drawing |
| meters.py | the meter, pickup and mode of each melody, and the context a meter-aware net reads |
| loop.py | the one sampling loop over any net's `step` (src/models/nets/stepping.py) |
| sampling.py | how each symbol is drawn: temperature, top-k/top-p, the end floor, the span |
| infill.py | a gap filled: the loop with the prompt in fill-in-the-middle order |
| vae.py | a VAE's prior, variations and interpolations |
| seeds.py | seeds read in the model's key; melodies moved back to the request's |
| octaves.py | `octave=auto`: a one-register model's unseeded melodies moved to where its songs sat |
"""

# the request and what comes back; `generate` itself is in generate.py (it reads the nets' files, which
# read sampling.py: importing it here would make a cycle)
from src.models.generation.meters import Meter
from src.models.generation.request import Generation, GenerationRequest
from src.models.generation.sampling import Sampling

__all__ = ["Generation", "GenerationRequest", "Meter", "Sampling"]
