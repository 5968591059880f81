"""The loaded model, one per process, and what every tab needs to run it.

No request changes another's results: the transformer (and the packaged text encoder) are
shared read-only, and every request gets its own pipeline object with a fresh scheduler
(`Runtime.pipeline`), so the sampler, guidance scale and interrupt flag of one run live in
that run's pipeline only.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import TypeVar

import torch

from pipelines import DEFAULT_WEIGHTS, LATENT_WEIGHTS, DiTText2ImagePipeline, make_scheduler
from pipelines.fast import compile_in_background
from pipelines.hardware import set_threads
from pipelines.pipeline_base import DiTPipelineBase

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "assets" / "examples"
EXAMPLES_64_DIR = ROOT / "assets" / "examples64"
MAX_SEED = 2**31 - 1
# One model run at a time in this process, whatever the queue does: every handler's model work
# (pipelines, attention maps, training in "watch it learn", the autoencoder) holds it.
MODEL_LOCK = threading.Lock()
DEFAULT_IMAGES = 4  # the Generate tab's default number of images
# Compiled in the background, most used first: one guided image (Inpaint, Denoise, Forward &
# reverse, attention), then the Generate tab's default (each guided image is two rows)
COMPILED_BATCHES = (2, 2 * DEFAULT_IMAGES)
MODEL_QUEUE = "model"  # every model event shares this queue slot: 2 cores do one thing at a time

P = TypeVar("P", bound=DiTPipelineBase)

def zero_gpu_decorator():
    """Hugging Face ZeroGPU's `spaces.GPU` (borrow a GPU only while a handler runs) where the
    `spaces` package is installed, else a decorator that changes nothing."""
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU


gpu = zero_gpu_decorator()  # every model handler is decorated with it


class Runtime:
    """The shipped transformer, loaded once, in the fastest precision this machine runs."""

    def __init__(self, weights: Path | str = DEFAULT_WEIGHTS, device: str | None = None, vae: Path | str = LATENT_WEIGHTS / "vae",
                 compile: bool = True) -> None:
        set_threads()
        weights = Path(weights)
        if not (weights / "model_index.json").exists():
            raise FileNotFoundError(f"No model in {weights}: train one with `python -m training.train --output {weights}`.")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        base = DiTText2ImagePipeline.from_pretrained(weights, use_safetensors=True).to(self.device)
        self.precision = base.set_precision("auto")  # bf16 weights where the CPU runs bf16 natively
        self.autocast_dtype = base.autocast_dtype
        self.transformer = base.transformer.eval()
        # Requests run eager until the compiled step is ready and checked (None: not compiling)
        self.compile_thread = compile_in_background(self.transformer, COMPILED_BATCHES) if compile and self.device == "cpu" else None
        # a latent model's folder brings its autoencoder (loaded above): keep it rather than load it twice
        own = getattr(base, "vae", None)
        self._vae = own.eval().requires_grad_(False) if own is not None else None
        self._vae_path = Path(vae)

    @property
    def vae(self):
        """The latent model's autoencoder (weights/dit-emoji-64/vae), loaded on first use, read-only
        (a second request racing the first load loads the same weights again: no wrong state)."""
        if self._vae is None:
            from diffusers import AutoencoderKL

            path = self._vae_path
            if not (path / "config.json").exists():
                raise FileNotFoundError(f"No autoencoder in {path}: train one with `python -m training.autoencoder --output {path}`.")
            self._vae = AutoencoderKL.from_pretrained(path, use_safetensors=True).to(self.device).eval().requires_grad_(False)
        return self._vae

    @property
    def image_size(self) -> int:
        """The served model's image side in pixels, from its config (every tab reads it here)."""
        return self.transformer.config.sample_size

    @property
    def is_latent(self) -> bool:
        """The served DiT draws autoencoder latents (4 channels), not RGB pixels."""
        return self.transformer.config.in_channels != 3

    def pipeline(self, kind: type[P], sampler: str) -> P:
        """A new pipeline of `kind` around the shared transformer (and autoencoder, for a latent
        model), with its own scheduler."""
        extra = {"vae": self.vae} if self.is_latent else {}
        pipe = kind(transformer=self.transformer, scheduler=make_scheduler(sampler), **extra)
        pipe.autocast_dtype = self.autocast_dtype
        pipe.set_progress_bar_config(disable=True)
        return pipe


_current: Runtime | None = None


def runtime() -> Runtime:
    """The process's runtime (the shipped weights, or DITLAB_WEIGHTS), loaded on first use."""
    global _current
    if _current is None:
        _current = Runtime()
    return _current


_latent: Runtime | None = None


def latent_runtime() -> Runtime:
    """The 64-px latent model (weights/dit-emoji-64), loaded on first use, for the views that show
    it beside the served model. Eager: its first use should not start a second compilation."""
    global _latent
    if _latent is None:
        _latent = Runtime(LATENT_WEIGHTS, vae=LATENT_WEIGHTS / "vae", compile=False)
    return _latent


def use_runtime(rt: Runtime | None, latent: Runtime | None = None) -> None:
    """Serve other models (tests use tiny random ones)."""
    global _current, _latent
    _current, _latent = rt, latent


@contextlib.contextmanager
def model_work():
    """Hold the model lock for a stretch of model work (see MODEL_LOCK)."""
    with MODEL_LOCK:
        yield


def example_images(size: int = 32) -> list[Path]:
    return sorted((EXAMPLES_64_DIR if size == 64 else EXAMPLES_DIR).glob("*.png"))
