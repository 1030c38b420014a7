"""A MusicVAE-style melody VAE (BiLSTM encoder -> z -> LSTM decoder), its loss terms and its decoding."""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.checks import integer, number
from src.data.vocab import BOUNDARY_ID, HOLD_ID
from src.models.generation.sampling import PLAIN, Sampling, Span, draw


class MelodyVAE(nn.Module):
    """Segments of ids (B, T) -> reconstruction logits (B, T, V) through a latent code z (B, Z)."""

    reads_context, max_bar = False, None  # it reads no meter

    def __init__(
        self,
        vocab_size: int,
        segment_length: int = 64,
        hidden_size: int = 256,
        latent_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        integer("vocab_size", vocab_size, 1)
        for key, value in (("segment_length", segment_length), ("hidden_size", hidden_size),
                           ("latent_size", latent_size), ("num_layers", num_layers)):
            integer(f"model.net.{key}", value, 1)
        number("model.net.dropout", dropout, ge=0, lt=1)
        self.vocab_size, self.segment_length = vocab_size, segment_length
        self.hidden_size, self.latent_size, self.num_layers = hidden_size, latent_size, num_layers
        between = dropout if num_layers > 1 else 0.0  # nn.LSTM applies dropout between layers only
        self.encoder = nn.LSTM(vocab_size, hidden_size, num_layers, batch_first=True,
                               bidirectional=True, dropout=between)
        self.to_posterior = nn.Linear(2 * hidden_size, 2 * latent_size)  # -> mean, log-variance
        self.to_state = nn.Linear(latent_size, 2 * num_layers * hidden_size)  # -> decoder (h0, c0)
        self.decoder = nn.LSTM(vocab_size + latent_size, hidden_size, num_layers, batch_first=True,
                               dropout=between)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Ids (B, T) -> logits (B, T, V), mean, logvar (B, Z); z is drawn in training, the mean in eval."""
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp() if self.training else mean  # (B, Z)
        return self.reconstruct(z, x), mean, logvar

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Ids (B, T), any integer dtype -> posterior mean and log-variance, (B, Z) each."""
        _, (h, _) = self.encoder(self._one_hot(x))  # h: (layers * 2, B, H)
        ends = torch.cat([h[-2], h[-1]], dim=-1)  # (B, 2H): the top layer's forward and backward ends
        mean, logvar = self.to_posterior(ends).chunk(2, dim=-1)
        return mean, logvar

    def reconstruct(self, z: Tensor, x: Tensor) -> Tensor:
        """Teacher-forced logits (B, T, V) of targets x (B, T) given z (B, Z)."""
        start = torch.full_like(x[:, :1], BOUNDARY_ID, dtype=torch.long)  # (B, 1): '/' opens every segment
        previous = torch.cat([start, x[:, :-1].long()], dim=1)  # (B, T): targets shifted right
        state = self._initial_state(z)
        h, _ = self.decoder(self._inputs(previous, z), state)  # (B, T, H), one pass
        return self.head(self.drop(h))

    def decode(self, z: Tensor, steps: int, sampling: Sampling = PLAIN,
               generator: torch.Generator | None = None, greedy: bool = False) -> Tensor:
        """Ids (B, steps) int64 drawn from z (B, Z) one symbol at a time, as `sampling` says (its
        temperature, top_k, top_p and max_span; greedy: argmax).

        As in the training segments, `/` is never drawn and `_` never first.
        """
        token = torch.full((len(z),), BOUNDARY_ID, dtype=torch.long, device=z.device)  # (B,)
        drawn = []
        span = Span(token[:, None], BOUNDARY_ID) if sampling.max_span else None  # no pitch yet
        with self._evaluating():
            state = self._initial_state(z)
            for t in range(steps):
                h, state = self.decoder(self._inputs(token[:, None], z), state)  # (B, 1, H)
                logits = self.head(h[:, 0]).float()  # (B, V)
                logits[:, BOUNDARY_ID] = -math.inf
                if t == 0:
                    logits[:, HOLD_ID] = -math.inf
                if greedy:
                    token = logits.argmax(-1)
                else:
                    token = draw(logits, sampling, generator, BOUNDARY_ID, allow_stop=False, span=span)
                drawn.append(token)
        return torch.stack(drawn, dim=1)

    def prior(self, n: int, steps: int, sampling: Sampling = PLAIN,
              generator: torch.Generator | None = None) -> Tensor:
        """`n` new segments (n, steps) decoded from z ~ N(0, I)."""
        z = self._noise(n, generator)  # (n, Z)
        return self.decode(z, steps, sampling, generator)

    def vary(self, ids: Tensor, n: int, steps: int, sampling: Sampling = PLAIN,
             generator: torch.Generator | None = None) -> Tensor:
        """`n` variations (n, steps) of one segment ids (T,): z = mean + temperature * eps, eps ~ N(0, I)
        (the sampling temperature scales the noise too)."""
        with self._evaluating():
            mean, _ = self.encode(ids[None].to(self.head.weight.device))  # (1, Z)
        # noise on the prior's scale: the posterior's own spread may be far narrower than musical change
        z = mean + sampling.temperature * self._noise(n, generator)  # (n, Z)
        return self.decode(z, steps, sampling, generator)

    def interpolate(self, first: Tensor, last: Tensor, n: int, steps: int) -> Tensor:
        """`n` >= 2 segments (n, steps) decoded greedily along the slerp between two segments' means."""
        with self._evaluating():
            means, _ = self.encode(torch.stack([first, last]).to(self.head.weight.device))  # (2, Z)
        t = torch.linspace(0.0, 1.0, n, device=means.device)  # endpoints exactly 0 and 1
        return self.decode(slerp(means[0], means[1], t), steps, greedy=True)

    def _one_hot(self, ids: Tensor) -> Tensor:
        return F.one_hot(ids.long(), self.vocab_size).to(self.head.weight.dtype)  # (B, L, V)

    def _inputs(self, ids: Tensor, z: Tensor) -> Tensor:
        """Decoder inputs (B, L, V + Z): each previous symbol one-hot beside z."""
        return torch.cat([self._one_hot(ids), z[:, None].expand(-1, ids.shape[1], -1)], dim=-1)

    def _initial_state(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """z (B, Z) -> decoder (h0, c0), (layers, B, H) each."""
        state = torch.tanh(self.to_state(z)).view(len(z), 2, self.num_layers, self.hidden_size)
        h, c = state.permute(1, 2, 0, 3)  # (2, layers, B, H) -> two (layers, B, H)
        return h.contiguous(), c.contiguous()

    def _noise(self, n: int, generator: torch.Generator | None) -> Tensor:
        device = self.head.weight.device
        draw_device = generator.device if generator is not None else device
        eps = torch.randn(n, self.latent_size, generator=generator, device=draw_device)
        return eps.to(device=device, dtype=self.head.weight.dtype)  # (n, Z)

    @contextmanager
    def _evaluating(self):
        """Eval mode (no dropout) and no gradients, restoring the mode after."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was_training)


def kl_per_dim(mean: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mean, exp(logvar)) || N(0, 1)) in nats per example and latent dimension, (B, Z)."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def vae_loss(logits: Tensor, target: Tensor, mean: Tensor, logvar: Tensor, beta: float,
             free_bits: float = 0.0) -> dict[str, Tensor]:
    """Loss terms in nats per symbol: `loss` = `recon_loss` + beta * free-bits KL; `kl` is the raw KL.

    Normalisation: KL per example and dimension (B, Z), clamped below at `free_bits` (so dimensions
    under it get no gradient), summed over dimensions (nats per segment), averaged over the batch,
    then divided by the segment length T: nats per symbol, the scale of the reconstruction's mean
    cross-entropy. Logits (B, T, V), targets (B, T), mean and logvar (B, Z).
    """
    length = target.shape[1]
    recon = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1).long())
    kl = kl_per_dim(mean.float(), logvar.float())  # (B, Z)
    free = kl.clamp(min=free_bits).sum(-1).mean() / length
    return {"loss": recon + beta * free, "recon_loss": recon, "kl": kl.sum(-1).mean() / length}


def ramp(step: int, anneal_steps: int) -> float:
    """0 -> 1 linearly over `anneal_steps` optimizer steps, then 1 (1 from the start when 0)."""
    return 1.0 if anneal_steps <= 0 else min(1.0, step / anneal_steps)


def slerp(first: Tensor, last: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation of vectors (Z,) at fractions t (n,) -> (n, Z); t = 0 and 1 give the ends."""
    unit = [v / v.norm().clamp(min=1e-12) for v in (first, last)]
    omega = torch.arccos((unit[0] * unit[1]).sum().clamp(-1.0, 1.0))
    if torch.sin(omega).abs() < 1e-6:  # (anti)parallel: a straight line is as good and well defined
        return (1 - t)[:, None] * first + t[:, None] * last
    weights = torch.stack([torch.sin((1 - t) * omega), torch.sin(t * omega)]) / torch.sin(omega)  # (2, n)
    path = weights[0][:, None] * first + weights[1][:, None] * last  # (n, Z)
    # the ends exactly, whatever the rounding of sin(omega) / sin(omega)
    path = torch.where((t == 0)[:, None], first, path)
    return torch.where((t == 1)[:, None], last, path)


def fit_segment(ids: list[int], length: int) -> list[int]:
    """A seed as exactly `length` ids: its first `length`, or padded at the end with holds `_`."""
    return ids[:length] + [HOLD_ID] * max(0, length - len(ids))
