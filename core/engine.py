"""The engine protocol: batched model calls and their request, result and provenance types."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from core.feedback.training_settings import STAGES, Stage, TrainingSettings

# "trained": a style branch trained for this profile is loaded; "untrained": the branch is
# the zero-initialised copy, so style references do not change pictures yet; "random": the
# tiny profile's random-weight branch, which changes pictures but not toward the reference;
# "ip-adapter": no branch is trained, so references steer through the profile's IP-Adapter on
# the style layers only (InstantStyle) until one is.
StyleBranchState = Literal["trained", "untrained", "random", "ip-adapter"]
# Seed 002's restorer: "untrained" restores with random weights (the writers are told so);
# "img2img": no restorer is trained, so Enhance refines with the generator's img2img at low
# strength until one is.
RestorerState = Literal["trained", "untrained", "img2img"]


# A region of a picture as shares of its width and height: (x0, y0, x1, y1) in 0..1.
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class StyleRef:
    """A channel's style reference: the stored image and how strongly it steers drawing."""

    image_id: str
    image: bytes = field(repr=False)  # the encoded image; the engine derives its style map
    strength: float = 1.0


@dataclass(frozen=True)
class LookRef:
    """An element's look a drawing is conditioned on: its reference picture (the cast's)."""

    element: str
    image_id: str
    image: bytes = field(repr=False)  # the encoded reference picture


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt to draw as len(seeds) candidates, each from its own seed."""

    prompt: str
    seeds: tuple[int, ...]
    negative_prompt: str = ""
    steps: int | None = None  # None: the profile's default
    width: int | None = None
    height: int | None = None
    guidance_scale: float | None = None
    style: StyleRef | None = None
    genre: str | None = None  # a trained genre adapter's name (seed 000 claim 16); None: none
    # The looks of the elements the prompt names, through the engine's image-prompt adapter
    # at `look_strength` (its scale); () or strength 0: none.
    looks: tuple[LookRef, ...] = ()
    look_strength: float = 0.0


# A trained LoRA adapter's name: lower-case letters, digits and dashes (it names a folder and
# the adapter inside the pipeline).
ADAPTER_NAME = r"[a-z0-9][a-z0-9-]{0,39}"
# "edit-model": seed 003 [0123]-[0131]'s image attribute editing model, an InstructPix2Pix
# UNet trained from kept edit pairs (not a LoRA, but kept and listed beside the adapters).
AdapterKind = Literal["genre", "attribute", "edit-model"]
ADAPTER_KINDS: tuple[AdapterKind, ...] = ("genre", "attribute", "edit-model")
EDIT_MODEL = "edit-model"


@dataclass(frozen=True)
class AdapterInfo:
    """A trained LoRA adapter the engine can draw with, as its training described it."""

    name: str
    kind: str  # an AdapterKind
    profile: str
    phrase: str = ""  # the caption phrase it was trained with ("wuxia style", "blue")
    pictures: int = 0
    steps: int = 0
    rank: int = 0
    learning_rate: float = 0.0
    text_encoder: bool = False
    loss_before: float = 0.0
    loss_after: float = 0.0
    train_seconds: float = 0.0
    trained_at: str = ""  # ISO time its training finished: "the newest" edit model is by it


@dataclass(frozen=True)
class Provenance:
    """Everything needed to draw the same image again from the same latent."""

    profile: str
    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    width: int
    height: int
    guidance_scale: float
    style_ref: str | None = None
    edit_chain: tuple[str, ...] = ()
    style_strength: float | None = None
    edit: dict | None = None  # how an edit made this version from its parent (kind, settings)
    style_method: str | None = None  # what carried the style reference (branch or IP-Adapter)
    genre: str | None = None  # the genre adapter it was drawn with
    composition: dict | None = None  # seed 001: every stage of a composed picture
    looks: tuple[str, ...] = ()  # the elements whose looks conditioned it,
    look_images: tuple[str, ...] = ()  # and their reference pictures' image ids
    look_strength: float | None = None
    look_method: str | None = None  # what carried the looks, or why they did not condition

    def to_dict(self) -> dict:
        return {
            "profile": self.profile,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "steps": self.steps,
            "width": self.width,
            "height": self.height,
            "guidance_scale": self.guidance_scale,
            "style_ref": self.style_ref,
            "edit_chain": list(self.edit_chain),
            "style_strength": self.style_strength,
            "edit": self.edit,
            "style_method": self.style_method,
            "genre": self.genre,
            "composition": self.composition,
            "looks": list(self.looks),
            "look_images": list(self.look_images),
            "look_strength": self.look_strength,
            "look_method": self.look_method,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Provenance:
        tuples = {
            name: tuple(data.get(name, ())) for name in ("edit_chain", "looks", "look_images")
        }
        return cls(**{**data, **tuples})


EditKind = Literal["global", "add", "remove", "attribute"]


@dataclass(frozen=True)
class ToneShift:
    """A global style preference as changes of the picture's tone; 1.0 / 0.0 leave it alone.

    The engine matches the new picture's mean luminance to `brightness` times the parent's,
    so "darker" is darker on any model, random tiny weights included.
    """

    brightness: float = 1.0
    saturation: float = 1.0
    warmth: float = 0.0  # -1 cooler .. +1 warmer


@dataclass(frozen=True)
class EditRequest:
    """Draw a new version of one illustration from its recorded latent with one change.

    - "global" (seed 001): img2img from the parent with `prompt` (the parent's prompt plus the
      preference's words), same seed, `strength` of change, then `tone`.
    - "add" / "remove" (seed 001): inpaint `element` into / out of `region`.
    - "attribute" (seed 003): an original branch (the parent's provenance) and an attribute
      branch (`prompt` with `attribute`) from the same latent, fused inside the mask of
      `attribute_word` (e.g. "hair").
    """

    kind: EditKind
    image: bytes = field(repr=False)  # the parent's encoded picture
    provenance: Provenance  # the parent's
    prompt: str  # the new version's prompt
    strength: float = 0.6
    region: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in 0..1
    element: str = ""
    attribute: str = ""
    attribute_word: str = ""
    tone: ToneShift | None = None
    style: StyleRef | None = None
    # Seed 003's feature generator: a trained attribute adapter's name for the attribute
    # branch only (None: that branch is the same model with the attribute in its prompt).
    attribute_adapter: str | None = None
    # A trained edit model (seed 003 [0123]-[0131], InstructPix2Pix) draws an attribute edit
    # from the picture and the writer's `instruction` instead of fusing two branches.
    edit_model: str | None = None
    instruction: str = ""


def feature_branch_label(attribute_adapter: str | None, edit_model: str | None = None) -> str:
    """How an attribute edit's feature branch was drawn, as provenance and edit pairs say it."""
    if edit_model:
        return f"edit model {edit_model}"
    return f"attribute generator {attribute_adapter}" if attribute_adapter else "prompt only"


@dataclass(frozen=True)
class ForegroundElement:
    """Seed 001: one foreground element of a composed picture, drawn on its own.

    `word` is how the initial picture's prompt names it (its cross-attention mask there);
    `prompt` how it is drawn alone. `cutout` (an RGBA PNG of an earlier drawing of it alone)
    is merged as is, so its look is kept by construction; else `reference` (a crop of its
    cast look) is redrawn by img2img; else it is drawn from `prompt`. `box` places it; None:
    the box of its mask in the initial picture.
    """

    word: str
    prompt: str
    cutout: bytes | None = field(default=None, repr=False)
    reference: bytes | None = field(default=None, repr=False)
    box: Box | None = None


@dataclass(frozen=True)
class CompositionRequest:
    """Seed 001's composition of one picture [0044]-[0052]: the background by inpainting the
    foreground away from `initial`, each foreground element drawn alone and cut out, merged
    where the initial picture put them, an edge sketch of the merge rendered in `style`.

    `background` (a PNG) is reused as is when given. With `redraw_background` the background
    is instead `initial` redrawn by img2img toward `background_prompt` (a new background
    element, [0040]). Stage settings travel with the request (core's `[story.compose]`).
    """

    initial: bytes = field(repr=False)
    provenance: Provenance  # the initial picture's (its seed and prompt)
    foreground: tuple[ForegroundElement, ...]
    background_prompt: str
    style: str
    background: bytes | None = field(default=None, repr=False)
    redraw_background: bool = False
    cutout: str = "attention"  # how an element drawn alone is cut out: attention or backdrop
    mask_threshold: float = 0.5
    element_strength: float = 0.6
    background_strength: float = 0.6
    render_strength: float = 0.5
    edge_threshold: float = 0.2


@dataclass(frozen=True)
class ComposedImage:
    """A composed picture and its stages (PNGs), so it can be redrawn or edited stage by
    stage; `picture.provenance.composition` records how each stage was made."""

    picture: GeneratedImage
    background: bytes = field(repr=False)
    cutouts: tuple[bytes, ...] = field(repr=False)  # RGBA, one per foreground element
    boxes: tuple[Box | None, ...]  # where each was merged; None: not found, not merged
    merged: bytes = field(repr=False)
    sketch: bytes = field(repr=False)


@dataclass(frozen=True)
class GeneratedImage:
    png: bytes
    provenance: Provenance


@dataclass(frozen=True)
class StepProgress:
    """Reported from the model worker: `step` of `total` denoising steps are done."""

    step: int
    total: int

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 1.0


ProgressCallback = Callable[[StepProgress], None]


class GenerationCancelled(Exception):
    """Raised by an engine call whose cancel token was set."""


@dataclass
class CancelToken:
    """Set from any thread; the model worker checks it between denoising steps."""

    _event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Screening:
    """Seed 000's screening of one prompt (Tables 1/2 [0245]-[0249]).

    `generability` is the index 0/1/2: how reliably the prompt can be drawn at all;
    `verb_included` marks an action description, several clauses jointly describing one
    event [0242], which is not illustrated on its own (claim 4).
    """

    generability: int
    verb_included: bool
    generability_probs: tuple[float, float, float] = (0.0, 0.0, 1.0)
    type_probs: tuple[float, float] = (1.0, 0.0)  # (verb excluded, verb included)
    # The sentence encoder's L2-normalised feature the heads read (all-MiniLM-L6-v2: 384-d),
    # so callers can compare sentences (edit requests with intent phrasings) without a second
    # model call; () from engines that have none.
    feature: tuple[float, ...] = field(default=(), repr=False)


# ---------------------------------------------------------------- restorer training (seed 002)


@dataclass(frozen=True)
class RestorerTrainingRequest:
    """Seed 002's staged restorer training, run by the engine where its models live.

    Everything travels as plain data: writers' feedback as (id, picture bytes, text), and
    `settings.clean_images` names a folder on the engine's machine ("": `restorer-images`
    beside the engine's models folder; synthetic scenes when it holds no pictures).
    """

    settings: TrainingSettings = field(default_factory=TrainingSettings)
    stages: tuple[Stage, ...] = STAGES
    feedback: tuple[tuple[str, bytes, str], ...] = field(default=(), repr=False)
    fresh: bool = False  # start from random weights instead of the saved checkpoints


@dataclass(frozen=True)
class StepReport:
    """One training step, for progress bars and the training room."""

    stage: Stage
    step: int
    max_steps: int
    loss: float  # this step's total loss
    running: float  # the smoothed loss the threshold is checked against
    pixel: float | None = None
    text: float | None = None
    sample_id: str = ""


@dataclass(frozen=True)
class StageResult:
    stage: Stage
    steps: int
    final_loss: float
    reason: Literal["threshold", "max_steps", "stopped", "no_data"]


# ---------------------------------------------------------------- adapter training (LoRA, edits)


@dataclass(frozen=True)
class AdapterTrainingRequest:
    """Train a genre or attribute adapter (LoRA) or an edit model where the engine's models
    live; it is saved where the engine loads adapters. Plain data, so it travels to a Ray
    replica: `pictures` are (encoded picture, caption) for an adapter, `pairs` are (input
    picture, edited picture, instruction) for an edit model."""

    kind: str  # an AdapterKind
    name: str
    phrase: str = ""  # put before every caption (and before a genre's prompts)
    pictures: tuple[tuple[bytes, str], ...] = field(default=(), repr=False)
    pairs: tuple[tuple[bytes, bytes, str], ...] = field(default=(), repr=False)
    steps: int = 400
    batch_size: int = 4
    learning_rate: float = 5e-4
    rank: int = 4  # LoRA rank (adapters only)
    text_encoder: bool = False  # adapt the text encoder too (adapters only)
    convolutions: bool = False  # adapt the UNet's ResNet convolutions too (adapters only)
    checkpoint_every: int = 100
    seed: int = 0
    fresh: bool = False  # discard earlier checkpoints instead of resuming


@dataclass(frozen=True)
class AdapterStep:
    """One step of an adapter's training, for progress bars."""

    step: int
    max_steps: int
    loss: float


@dataclass(frozen=True)
class AdapterTrainingResult:
    info: AdapterInfo
    first_loss: float  # evaluation loss before this run's steps
    final_loss: float
    seconds: float
    directory: str  # where it was saved, on the engine's machine


class TrainingBusy(RuntimeError):
    """A training room's stage is already running; stop it first."""


class TrainingRoomControls(Protocol):
    """One training room's session, driven from the web room: plain data in and out, so it
    runs in this process (LocalEngine) or beside a Ray replica's models (RayEngine)."""

    async def snapshot(self) -> dict[str, Any]:
        """Status, stage, error, the recent loss points, max_steps, finished stages' results."""
        ...

    async def start(self, stage: str) -> None:
        """Start `stage`; ValueError for an unknown stage, TrainingBusy while one runs."""
        ...

    async def stop(self) -> bool:
        """Stop the running stage after its current step; False if none runs."""
        ...

    async def samples(self) -> list[dict[str, Any]]:
        """The samples shown: id, complaint, feedback typed for it, its target text."""
        ...

    async def picture(self, sample_id: str, kind: str) -> bytes | None:
        """A sample's PNG: its "prediction", damaged "input" or "clean" original."""
        ...

    async def add_feedback(self, sample_id: str, text: str) -> tuple[str, bytes] | None:
        """Bind `text` to the sample's shown prediction: (its target text, that PNG)."""
        ...

    async def close(self) -> None:
        """Stop any stage and release the session's models."""
        ...


class Engine(Protocol):
    """Model work behind one interface: every call takes a batch.

    Implementations: `engine.local_engine.LocalEngine` (in-process worker thread) and
    `engine.ray_engine.RayEngine` (a Ray Serve deployment; the bot imports no torch).
    A request's `style` runs through `generate` like any other request.
    """

    @property
    def profile_name(self) -> str: ...

    @property
    def style_branch(self) -> StyleBranchState:
        """Whether requests' style references can steer pictures (see StyleBranchState)."""
        ...

    @property
    def restorer_state(self) -> RestorerState:
        """Whether `restore` runs a trained restorer now (training may finish while serving)."""
        ...

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[list[GeneratedImage]]:
        """One list of candidates per request, in seed order."""
        ...

    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text features, shape (len(texts), dim), float32."""
        ...

    async def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        """L2-normalised CLIP image features of encoded images, shape (len(images), dim)."""
        ...

    async def embed_regions(self, images: Sequence[bytes], boxes: Sequence[Box]) -> np.ndarray:
        """L2-normalised CLIP image features of each box cut from each encoded image,
        shape (len(images), len(boxes), dim): where the story's cast finds an element."""
        ...

    async def screen(self, texts: Sequence[str]) -> list[Screening]:
        """Screen each prompt: generability index and description type."""
        ...

    async def edit(
        self,
        requests: Sequence[EditRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[GeneratedImage]:
        """One new version per request; its provenance records the edit."""
        ...

    async def compose(
        self,
        requests: Sequence[CompositionRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[ComposedImage]:
        """Seed 001's composed picture per request, with its stages (see CompositionRequest)."""
        ...

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        """Seed 002's restorer on each encoded picture: sharper, less noise, no scratches."""
        ...

    async def train_restorer(
        self,
        request: RestorerTrainingRequest,
        on_step: Callable[[StepReport], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> list[StageResult]:
        """Train the restorer where the models live; its checkpoints land where `restore`
        loads them, which picks them up without a restart. `on_step` may run on a worker
        thread. A set `cancel` stops the running stage after its step (its checkpoint is
        kept, later stages are skipped) and raises GenerationCancelled."""
        ...

    async def open_training_room(self, request: RestorerTrainingRequest) -> TrainingRoomControls:
        """The training room's session, where the models live (seed 002 [0290]-[0353]):
        `request` says what it trains on (settings, writers' feedback); its stages write
        checkpoints where `restore` loads them. Its models load on first use."""
        ...

    async def adapters(self) -> list[AdapterInfo]:
        """The trained LoRA adapters (genres, attribute generators) and edit models this
        engine can load now; those trained while it runs are listed once their files are
        complete."""
        ...

    async def train_adapter(
        self,
        request: AdapterTrainingRequest,
        on_step: Callable[[AdapterStep], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> AdapterTrainingResult:
        """Train an adapter or edit model where the models live (this process, or a Ray
        replica's node) into the folder `adapters` lists. A set `cancel` stops after the
        current step, keeps the checkpoint (a rerun resumes) and raises GenerationCancelled."""
        ...

    async def close(self) -> None: ...
