"""Seed 000's two screening classifiers (Tables 1/2), their training (eq. 4) and their files.

Reading of Tables 1/2 and [0245]-[0247]: there are two classifiers ("two convolutional
neural networks each having a 1*1 convolution kernel"), one per table, each with its own
three 1x1 convolutions: the input layer maps the sentence feature to 512 channels, the fusion
layer to 1024, and the class layer to 3 (generability) or 2 (description type), followed by a
softmax. Nothing is shared between them. The seed names no activation; a ReLU follows the
input and fusion layers, since stacked convolutions without one collapse into a single linear
map. The sentence feature (the encoder's width; 384 for all-MiniLM-L6-v2) is a 1-long
sequence of `dim` channels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

INPUT_CHANNELS = 512  # Tables 1/2, input layer
FUSION_CHANNELS = 1024  # Tables 1/2, fusion layer
HEADS_FILE = "heads.safetensors"
CONFIG_FILE = "config.json"


class Conv1x1(nn.Conv1d):
    """A 1x1 convolution over a 1-long sequence, taking and giving (N, channels).

    Same weights and result as nn.Conv1d on (N, channels, 1), computed as the matrix product
    it amounts to: torch's CPU convolution path is several times slower at this shape.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size=1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(features, self.weight[:, :, 0], self.bias)


def _classifier(dim: int, classes: int) -> nn.Sequential:
    return nn.Sequential(
        Conv1x1(dim, INPUT_CHANNELS),
        nn.ReLU(),
        Conv1x1(INPUT_CHANNELS, FUSION_CHANNELS),
        nn.ReLU(),
        Conv1x1(FUSION_CHANNELS, classes),
    )


class ScreeningHeads(nn.Module):
    """Sentence features (N, dim) -> generability logits (N, 3) and type logits (N, 2)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.generability = _classifier(dim, 3)
        self.description_type = _classifier(dim, 2)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.generability(features), self.description_type(features)

    def probabilities(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The softmax outputs of both classifiers ([0247])."""
        generability, description = self(features)
        return generability.softmax(-1), description.softmax(-1)


def screening_loss(
    heads: ScreeningHeads,
    features: torch.Tensor,
    generability: torch.Tensor,
    verb_included: torch.Tensor,
) -> torch.Tensor:
    """Eq. 4 for each classifier, averaged over the batch, summed over the two."""
    generability_logits, type_logits = heads(features)
    return F.cross_entropy(generability_logits, generability) + F.cross_entropy(
        type_logits, verb_included
    )


@dataclass(frozen=True)
class TrainingSettings:
    """The seed's schedule ([0250]): 60 passes over the data in batches, plain SGD."""

    epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 0.05
    momentum: float = 0.9
    seed: int = 0


SEED_SCHEDULE = TrainingSettings()


def train_heads(
    features: torch.Tensor,
    generability: torch.Tensor,
    verb_included: torch.Tensor,
    settings: TrainingSettings = SEED_SCHEDULE,
    on_epoch: Callable[[int, float], None] | None = None,
    heads: ScreeningHeads | None = None,
) -> tuple[ScreeningHeads, list[float]]:
    """Fresh (or the given) heads trained on the features; returns them and each epoch's loss."""
    generator = torch.Generator().manual_seed(settings.seed)
    if heads is None:
        torch.manual_seed(settings.seed)  # reproducible initial weights
        heads = ScreeningHeads(features.shape[1]).to(features.device)
    optimiser = torch.optim.SGD(
        heads.parameters(), lr=settings.learning_rate, momentum=settings.momentum
    )
    losses: list[float] = []
    heads.train()
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(len(features), generator=generator).to(features.device)
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            rows = order[start : start + settings.batch_size]
            loss = screening_loss(heads, features[rows], generability[rows], verb_included[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(rows)
        losses.append(total / max(1, len(order)))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    heads.eval()
    return heads, losses


def accuracies(
    heads: ScreeningHeads,
    features: torch.Tensor,
    generability: torch.Tensor,
    verb_included: torch.Tensor,
) -> tuple[float, float]:
    """Share of rows whose generability, and whose description type, the heads get right."""
    with torch.inference_mode():
        generability_logits, type_logits = heads(features)
    right_generability = (generability_logits.argmax(-1) == generability).float().mean()
    right_type = (type_logits.argmax(-1) == verb_included).float().mean()
    return float(right_generability), float(right_type)


@dataclass(frozen=True)
class HeadsInfo:
    """What the saved heads were trained on; `encoder` must match the profile's to be used."""

    encoder: str
    dim: int
    examples: int
    epochs: int
    generability_accuracy: float | None = None  # held out, when the training held some out
    type_accuracy: float | None = None


def save_heads(heads: ScreeningHeads, info: HeadsInfo, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in heads.state_dict().items()
    }
    # Weights first, config last: a config on disk means a complete pair.
    save_file(state, str(directory / HEADS_FILE))
    (directory / CONFIG_FILE).write_text(json.dumps(asdict(info), indent=2) + "\n")


def load_heads(directory: Path, device: torch.device) -> tuple[ScreeningHeads, HeadsInfo]:
    info = HeadsInfo(**json.loads((directory / CONFIG_FILE).read_text()))
    heads = ScreeningHeads(info.dim)
    heads.load_state_dict(load_file(str(directory / HEADS_FILE)))
    return heads.to(device).eval(), info


def has_heads(directory: Path) -> bool:
    return (directory / CONFIG_FILE).is_file() and (directory / HEADS_FILE).is_file()
