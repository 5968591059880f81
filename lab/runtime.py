"""The loaded models, one of each per process, and what every tab needs to run them.

Two models are served: the 64-px latent DiT (diffuses the autoencoder's 16x16x4 latents) and
the 32-px pixel DiT. Every tab's handler takes the model's key (the choice at the top of the
page) and asks `runtime(key)` for it; each is loaded on its first use.

No request changes another's results: the transformer (and the packaged text encoder) are
shared read-only, and every request gets its own pipeline object with a fresh scheduler
(`Runtime.pipeline`), so the sampler, guidance scale and interrupt flag of one run live in
that run's pipeline only.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from pathlib import Path
from typing import TypeVar

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from pipelines import (DEFAULT_GUIDANCE, DEFAULT_SAMPLER, DEFAULT_WEIGHTS, LATENT_WEIGHTS, DiTText2ImagePipeline, DiTTransformer,
                       make_scheduler)
from pipelines.fast import compile_in_background
from pipelines.hardware import set_threads
from pipelines.latents import LatentSpace
from pipelines.pipeline_base import DiTPipelineBase
from pipelines.schedulers import scheduler_shift
from pipelines.text_encoder import MAX_TEXT_LENGTH

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

# key -> (weights, the choice's name). The latent model is the default because its gate passes
# (weights/dit-emoji-64/evaluation/gate.json; see its model card); the 32-px model is a click away.
MODELS = {"latent": (LATENT_WEIGHTS, "64 px · latent DiT"), "pixel": (DEFAULT_WEIGHTS, "32 px · pixel DiT")}
DEFAULT_MODEL = "latent"

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
    """A shipped model (its transformer, and its autoencoder if latent), loaded once, the
    transformer in the fastest precision this machine runs."""

    def __init__(self, weights: Path | str = DEFAULT_WEIGHTS, device: str | None = None, compile: bool = True) -> None:
        set_threads()
        weights = self.weights = Path(weights)
        if not (weights / "model_index.json").exists():
            raise FileNotFoundError(f"No model in {weights}: train one with `python -m training.train --output {weights}`.")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        base = DiTText2ImagePipeline.from_pretrained(weights, use_safetensors=True).to(self.device)
        self.precision = base.set_precision("auto")  # bf16 weights where the CPU runs bf16 natively
        self.autocast_dtype = base.autocast_dtype
        self.transformer = base.transformer.eval()
        # the timestep shift chosen for this model on the tuning set, saved with its scheduler:
        # every sampler the app builds for it walks the same shifted σ grid its gate used
        self.shift = scheduler_shift(base.scheduler)
        # Requests run eager until the compiled step is ready and checked (None: not compiling)
        self.compile_thread = compile_in_background(self.transformer, COMPILED_BATCHES) if compile and self.device == "cpu" else None
        # a latent model's folder brings its autoencoder (from_pretrained loaded it): read-only, fp32
        own = getattr(base, "vae", None)
        self.vae = own.eval().requires_grad_(False) if own is not None else None
        self.space = LatentSpace(self.vae)

    @property
    def image_size(self) -> int:
        """The model's image side in pixels: the transformer's side times the autoencoder's factor."""
        return self.transformer.config.sample_size * self.space.scale_factor

    @property
    def is_latent(self) -> bool:
        """The DiT draws autoencoder latents, not RGB pixels."""
        return self.vae is not None

    def pipeline(self, kind: type[P], sampler: str, exact: bool = False) -> P:
        """A new pipeline of `kind` around the shared transformer (and autoencoder, for a latent
        model), with its own scheduler; `exact`: around the fp32 one (`exact_transformer`)."""
        pipe = kind(transformer=self.exact_transformer if exact else self.transformer, scheduler=self.scheduler(sampler), vae=self.vae)
        pipe.autocast_dtype = None if exact else self.autocast_dtype
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def scheduler(self, sampler: str) -> SchedulerMixin:
        """A new scheduler of this sampler at this model's shift: what its pipelines step with and
        its schedule plots draw."""
        return make_scheduler(sampler, self.shift)

    @functools.cached_property
    def exact_transformer(self) -> DiTTransformer:
        """The transformer once more, in fp32 from its saved weights, for measurements finer than
        bf16's rounding: the sampler race's errors near the reference are about 1e-2, bf16 rounds
        at 4e-3 of a value, and AMX and AVX-512 round differently, so in bf16 the measured orders
        would follow the CPU, not the solver. Loaded on first use; read-only after."""
        return DiTTransformer.from_pretrained(self.weights / "transformer").to(self.device).eval().requires_grad_(False)

    @functools.cached_property
    def cost(self) -> dict[str, float]:
        """What one guided step costs (a batch of two: with and without the prompt), counted by
        PyTorch's FLOP counter on one forward; and the decoder's one pass, for a latent model."""
        from torch.utils.flop_counter import FlopCounterMode

        m, cfg = self.transformer, self.transformer.config
        x = torch.zeros(2, cfg.in_channels, cfg.sample_size, cfg.sample_size, device=m.device, dtype=m.dtype)
        text = torch.zeros(2, MAX_TEXT_LENGTH, cfg.text_dim, device=m.device, dtype=m.dtype)
        decode = 0
        with model_work(), torch.no_grad():
            with FlopCounterMode(display=False) as step:
                m(x, torch.full((2,), 500.0, device=m.device), text, torch.ones(2, MAX_TEXT_LENGTH, dtype=torch.long, device=m.device))
            if self.is_latent:
                with FlopCounterMode(display=False) as dec:
                    self.vae.decode(x[:1].float())
                decode = dec.get_total_flops()
        return {"tokens": (cfg.sample_size // cfg.patch_size) ** 2, "gflop": step.get_total_flops() / 1e9, "decode_gflop": decode / 1e9}


_loaded: dict[str, Runtime] = {}
_LOAD_LOCK = threading.Lock()  # two first requests load a model once


def runtime(model: str | None = None) -> Runtime:
    """The model with this key (see MODELS; None: the default), loaded on first use. Only the
    default compiles its step in the background: one compilation keeps the 2 cores for requests."""
    key = check_model(model)
    with _LOAD_LOCK:
        if key not in _loaded:
            _loaded[key] = Runtime(MODELS[key][0], compile=key == DEFAULT_MODEL)
        return _loaded[key]


def check_model(model: str | None) -> str:
    """The model's key, or the default for None; a clear error for anything else."""
    if model is None or model == "":
        return DEFAULT_MODEL
    if model not in MODELS:
        raise ValueError(f"Model must be one of {list(MODELS)}; got {str(model)[:40]!r}.")
    return model


def chosen_settings(model: str | None = None) -> tuple[float, str]:
    """The guidance scale and sampler chosen for this model on the tuning set, which its gate ran
    with (its folder's evaluation/gate.json): the Generate tab starts from them. The shared
    defaults for a folder without one (a model trained here and not yet gated)."""
    try:
        chosen = json.loads((MODELS[check_model(model)][0] / "evaluation" / "gate.json").read_text())
        return float(chosen["guidance_scale"]), str(chosen["sampler"])
    except (OSError, KeyError, TypeError, ValueError):
        return DEFAULT_GUIDANCE, DEFAULT_SAMPLER


def use_runtime(pixel: Runtime | None, latent: Runtime | None = None) -> tuple[Runtime | None, Runtime | None]:
    """Serve other models (tests use tiny random ones); None forgets one (the shipped weights load
    again on use). Returns the (pixel, latent) runtimes served before, to restore them."""
    previous = _loaded.get("pixel"), _loaded.get("latent")
    _loaded.clear()
    _loaded.update({k: rt for k, rt in (("pixel", pixel), ("latent", latent)) if rt is not None})
    return previous


@contextlib.contextmanager
def model_work():
    """Hold the model lock for a stretch of model work (see MODEL_LOCK)."""
    with MODEL_LOCK:
        yield


def example_images(size: int = 32) -> list[Path]:
    return sorted((EXAMPLES_64_DIR if size == 64 else EXAMPLES_DIR).glob("*.png"))
