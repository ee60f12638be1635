"""The `[restorer_training]` section: seed 002's staged restorer training, sent to the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from core.settings import setting

Stage = Literal["pixel", "scorer", "joint"]
STAGES: tuple[Stage, ...] = get_args(Stage)
PixelLoss = Literal["l1", "mse"]


@dataclass(frozen=True)
class StageSettings:
    max_steps: int = setting(doc="most steps of the stage", at_least=0)
    loss_threshold: float = setting(
        doc="the stage stops once its running loss is below this", at_least=0
    )
    learning_rate: float = setting(doc="the stage's Adam learning rate", above=0)


@dataclass(frozen=True)
class TrainingSettings:
    """What one training run trains on, and how each stage learns."""

    image_size: int = setting(64, "training crops, in pixels", at_least=16, at_most=1024)
    pairs: int = setting(256, "clean pictures per run, each damaged once", at_least=1)
    clean_images: str = setting("", "folder of clean pictures; default <data_dir>/restorer-images")
    pixel: StageSettings = setting(
        StageSettings(300, 0.02, 3e-4), "stage 1: the restorer on pixels (L1 or MSE)"
    )
    scorer: StageSettings = setting(
        StageSettings(150, 0.25, 1e-4),
        "stage 2: the CLIP-structured scorer on (picture, text, label)",
    )
    joint: StageSettings = setting(
        StageSettings(150, 0.03, 1e-4), "stage 3: pixels + text_weight * (1 - scorer similarity)"
    )
    text_weight: float = setting(
        0.1, "the text term's weight, below the pixel loss's 1 [0148]", at_least=0, at_most=1
    )
    pixel_loss: PixelLoss = setting("l1", "l1 (eq. 1) or mse (eq. 2)", choices=get_args(PixelLoss))
    batch_size: int = setting(8, "pictures per training step", at_least=1)
    min_steps: int = setting(5, "a stage never stops on its loss before this", at_least=0)
    checkpoint_every: int = setting(50, "steps between two checkpoints", at_least=1)
    seed: int = setting(0, "seed of the damage and the sample order")

    def stage(self, stage: Stage) -> StageSettings:
        return {"pixel": self.pixel, "scorer": self.scorer, "joint": self.joint}[stage]
