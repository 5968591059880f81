"""Input checks, public: the pipelines' `check_inputs` and the app's input gate use the same ones.

Each answers a bad value with a ValueError that names the argument and what it accepts, before
any model work starts (as diffusers' `check_inputs` does), so no caller meets a tensor-size
error from inside the model.
"""

from __future__ import annotations

import math

import numpy as np
import torch

OUTPUT_TYPES = ("pil", "np", "pt", "latent")


def check_number(name: str, value, low: float | None = None, high: float | None = None, integer: bool = False,
                 low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] with low_open), else a ValueError that
    names the argument and the allowed range. NaN, None and strings are refused."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value)) and (not integer or float(value) == int(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        kind = "a whole number" if integer else "a number"
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"<= {high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        raise ValueError(f"{name} must be {kind}{' ' + bounds if bounds else ''}; got {value!r}.")
    return int(value) if integer else float(value)


def as_prompt_list(prompt: str | list[str] | None, name: str = "prompt") -> list[str] | None:
    """A prompt or list of prompts as a list (None stays None)."""
    if prompt is None:
        return None
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, (list, tuple)):
        if len(prompt) == 0:
            raise ValueError(f"{name} is an empty list; pass a string or a list with at least one string.")
        if not all(isinstance(p, str) for p in prompt):
            raise ValueError(f"{name} must contain only strings.")
        return list(prompt)
    raise ValueError(f"{name} must be a string or a list of strings, got {type(prompt).__name__}.")


def check_embeddings(name: str, embeds: torch.Tensor | None, mask: torch.Tensor | None, length: int, dim: int) -> None:
    """Given prompt embeddings: (batch, length, dim) floats, and a (batch, length) mask with at
    least one real token per row (an all-zero row would attend to nothing: NaN)."""
    if embeds is None:
        if mask is not None:
            raise ValueError(f"{name}_attention_mask was given without {name}_embeds.")
        return
    if not torch.is_tensor(embeds) or embeds.ndim != 3 or not embeds.is_floating_point():
        raise ValueError(f"{name}_embeds must be a float tensor (batch, tokens, dim); got {_describe(embeds)}.")
    if embeds.shape[1] > length or embeds.shape[2] != dim:
        raise ValueError(f"{name}_embeds must be (batch, <= {length}, {dim}); got {tuple(embeds.shape)}.")
    if not torch.isfinite(embeds).all():
        raise ValueError(f"{name}_embeds holds NaN or infinite values.")
    if mask is None:
        return
    if not torch.is_tensor(mask) or tuple(mask.shape) != tuple(embeds.shape[:2]):
        raise ValueError(f"{name}_attention_mask must have shape {tuple(embeds.shape[:2])} like {name}_embeds; got {_describe(mask)}.")
    if (mask.reshape(mask.shape[0], -1) != 0).sum(1).min() == 0:
        raise ValueError(f"{name}_attention_mask has a row with no token (all zeros); each row needs at least one.")


def check_batch(what: str, n: int, batch: int) -> None:
    """`n` rows of something for `batch` prompts: one for all, or one per prompt."""
    if n not in (1, batch):
        raise ValueError(f"Got {n} {what} for {batch} prompts; give one, or one per prompt.")


def check_common(num_inference_steps, guidance_scale, output_type: str, num_images_per_prompt, callback_inputs,
                 allowed_callback_inputs: list[str], guidance_interval) -> None:
    """The arguments every pipeline takes."""
    check_number("num_inference_steps", num_inference_steps, 1, 1000, integer=True)
    check_number("guidance_scale", guidance_scale, 0, 100)
    check_number("num_images_per_prompt", num_images_per_prompt, 1, 256, integer=True)
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"Unknown output_type {output_type!r}; use one of {', '.join(OUTPUT_TYPES)}.")
    unknown = [n for n in callback_inputs or [] if n not in allowed_callback_inputs]
    if unknown:
        raise ValueError(f"callback_on_step_end_tensor_inputs has {unknown}; allowed: {allowed_callback_inputs}.")
    if guidance_interval is not None:
        lo, hi = (check_number("guidance_interval", v, 0, 1) for v in guidance_interval)
        if lo > hi:
            raise ValueError(f"guidance_interval must be (low, high) with low <= high; got {guidance_interval}.")


def _describe(value) -> str:
    return f"shape {tuple(value.shape)}, {value.dtype}" if torch.is_tensor(value) else type(value).__name__
