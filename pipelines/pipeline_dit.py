"""Diffusers-style pipelines around the DiT: text-to-image, inpainting, denoising (img2img),
and the forward process. All of them run the one denoising loop in `DiTPipelineBase._denoise`.

    from pipelines import DiTText2ImagePipeline
    pipe = DiTText2ImagePipeline.from_pretrained("weights/dit-emoji")
    pipe("red apple", generator=torch.Generator().manual_seed(0)).images[0].save("apple.png")

They follow diffusers' conventions where a diffusers user would notice: `encode_prompt`
returns `prompt_embeds` and masks that `__call__` accepts back; `guidance_scale`,
`do_classifier_free_guidance`, `num_timesteps` and `interrupt` are properties that a
`callback_on_step_end` can read and change (`pipe._guidance_scale`, `pipe._interrupt`);
`output_type="latent"` returns the final model-space tensor; `tokenizer`/`text_encoder` are
optional components (None = the packaged MiniLM, loaded on the first prompt that needs it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from . import schedulers as flow
from .hardware import autocast_context, best_autocast_dtype
from .image_utils import ImageInput, image_hw, model_to_unit, to_mask_tensor, to_unit_tensor, unit_to_model, unit_to_output
from .text_encoder import TextEmbeddings, packaged_text_encoder, prompt_cache_for
from .transformer_dit import DiTTransformer

DEFAULT_STEPS = 20
OUTPUT_TYPES = ("pil", "np", "pt", "latent")


@dataclass
class TraceStep:
    """What the model saw and said at one step, all (N, 3, H, W) in model space [-1, 1]."""

    index: int  # step of this run, 0-based (a Heun step is one step, though it calls the model twice)
    timestep: float  # t = 1000 * sigma, the model's conditioning
    sigma: float  # noise level of x_t
    sigma_next: float  # noise level after this step
    x_t: torch.Tensor  # the input of this step
    x0_pred: torch.Tensor  # x0_hat = x_t - sigma * v (guided)
    noise_pred: torch.Tensor  # eps_hat = x_t + (1 - sigma) * v (guided)
    x0_cond: torch.Tensor | None = None  # x0_hat from the conditional velocity alone
    x0_uncond: torch.Tensor | None = None  # ... and from the unconditional one (None where unguided)
    guidance_scale: float = 1.0  # the scale applied at this step
    x_next: torch.Tensor | None = None  # the state after this step (inpainting: after the merge)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. inpainting's proposal / known region


@dataclass
class DiTPipelineOutput(BaseOutput):
    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    trace: list[TraceStep] | None = None
    num_steps_run: int = 0  # steps run on the reverse path (RePaint's repeats included)
    num_steps_scheduled: int = 0  # num_inference_steps asked for
    num_model_calls: int = 0  # transformer forwards (Heun: two per step but the last)


@dataclass
class ForwardProcessOutput(BaseOutput):
    steps: list[int]  # forward step k of num_inference_steps: 0 = data, N = noise
    sigmas: list[float]
    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor  # x_t for each step
    noise: torch.Tensor  # the eps shared by all steps


@dataclass(frozen=True)
class Step:
    """Run scheduler step `index` (0 = the noisiest step of the schedule)."""

    index: int


@dataclass(frozen=True)
class Jump:
    """RePaint: the state is at the input noise level of step `at`; re-noise it back up to
    the input level of the earlier step `back_to`."""

    at: int
    back_to: int


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


def _as_prompt_list(prompt: str | list[str] | None, name: str = "prompt") -> list[str] | None:
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


class DiTPipelineBase(DiffusionPipeline):
    """Shared parts: prompt encoding (cached), the denoising loop, trace and output handling.

    The text encoder is frozen and large (90 MB), so it is an optional component: with
    `tokenizer`/`text_encoder` None the packaged all-MiniLM-L6-v2 is loaded on the first
    prompt that needs it (never with `prompt_embeds`), and the components stay None, so
    `save_pretrained` writes only the DiT and scheduler.
    """

    model_cpu_offload_seq = "text_encoder->transformer"
    _optional_components = ["tokenizer", "text_encoder"]
    _callback_tensor_inputs = ["latents", "x0_pred", "noise_pred", "prompt_embeds"]

    def __init__(self, transformer: DiTTransformer, scheduler, tokenizer=None, text_encoder=None) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, scheduler=scheduler, tokenizer=tokenizer, text_encoder=text_encoder)
        self._guidance_scale = flow.DEFAULT_GUIDANCE
        self._interrupt = False
        self._num_timesteps = 0
        self._text_encoder_dtype: torch.dtype | None = None  # set by from_pretrained(dtype=...)
        # None = fp32. The app sets bf16 where the CPU has native bf16 (see hardware.py).
        self.autocast_dtype: torch.dtype | None = None

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """diffusers' from_pretrained; a `torch_dtype`/`dtype` (or its dict's "text_encoder" /
        "default" entry) also applies to the packaged text encoder when that is used."""
        dtype = kwargs.get("dtype", kwargs.get("torch_dtype"))
        pipe = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        if isinstance(dtype, dict):
            dtype = dtype.get("text_encoder", dtype.get("default"))
        pipe._text_encoder_dtype = dtype
        return pipe

    # ------------------------------------------------------------ properties
    @property
    def guidance_scale(self) -> float:
        return self._guidance_scale

    @property
    def do_classifier_free_guidance(self) -> bool:
        return self._guidance_scale > 1.0

    @property
    def num_timesteps(self) -> int:
        """Steps this run takes (img2img at strength 0.5 of 20: 10)."""
        return self._num_timesteps

    @property
    def interrupt(self) -> bool:
        """Set `pipe._interrupt = True` (e.g. from a callback) to end the loop after this step."""
        return self._interrupt

    @property
    def sample_size(self) -> int:
        return self.transformer.config.sample_size

    @property
    def sampler(self) -> str:
        return flow.sampler_name(self.scheduler)

    def set_sampler(self, name: str) -> None:
        """Swap this pipeline's scheduler by name ('euler', 'heun', 'dpm++2m', 'unipc')."""
        self.scheduler = flow.make_scheduler(name)

    def set_precision(self, mode: str = "auto") -> str:
        """'fp32'; 'bf16' (the transformer's weights cast to bf16: on a CPU with native bf16
        this is faster than autocast, which re-casts every weight at every call); 'autocast'
        (bf16 autocast over fp32 weights, for GPUs); 'auto' picks the fastest the hardware
        runs natively. Returns the mode used. Affects every pipeline sharing the transformer;
        casting to bf16 rounds the weights, so going back to fp32 exactly means reloading."""
        if mode == "auto":
            native = best_autocast_dtype(self._execution_device)
            mode = "fp32" if native is None else ("bf16" if self._execution_device.type == "cpu" else "autocast")
        if mode not in ("fp32", "bf16", "autocast"):
            raise ValueError(f"Unknown precision {mode!r}; use 'auto', 'fp32', 'bf16' or 'autocast'.")
        from diffusers.models.modeling_utils import logger as modeling_logger

        level = modeling_logger.level
        modeling_logger.setLevel("ERROR")  # diffusers warns about fp32-only modules on any cast; this model has none
        try:
            self.transformer.to(torch.bfloat16 if mode == "bf16" else torch.float32)
        finally:
            modeling_logger.setLevel(level)
        self.autocast_dtype = best_autocast_dtype(self._execution_device) if mode == "autocast" else None
        return mode

    # --------------------------------------------------------------- prompts
    def _text_pair(self) -> tuple:
        if self.tokenizer is not None and self.text_encoder is not None:
            return self.tokenizer, self.text_encoder
        return packaged_text_encoder(self._text_encoder_dtype)

    def _embed(self, prompts: list[str], n_per_prompt: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        tokenizer, text_encoder = self._text_pair()
        emb = prompt_cache_for(text_encoder)(tokenizer, text_encoder, prompts).repeat(n_per_prompt)
        return emb.hidden_states.to(device), emb.attention_mask.to(device)

    def encode_prompt(
        self,
        prompt: str | list[str] | None,
        do_classifier_free_guidance: bool = True,
        negative_prompt: str | list[str] | None = "",
        num_images_per_prompt: int = 1,
        device: torch.device | None = None,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
        negative_prompt_attention_mask: torch.Tensor | None = None,
    ):
        """Token states (N * num_images_per_prompt, 16, 384) and masks of the frozen encoder,
        for the prompt and (when guided) the negative prompt; "" is the unconditional prompt.
        Given embeddings are repeated per image, not re-encoded."""
        device = device or self._execution_device
        if prompt_embeds is None:
            prompts = _as_prompt_list(prompt)
            if prompts is None:
                raise ValueError("Give `prompt` or `prompt_embeds`.")
            prompt_embeds, prompt_attention_mask = self._embed(prompts, num_images_per_prompt, device)
        else:
            prompt_embeds, prompt_attention_mask = _repeat_given(prompt_embeds, prompt_attention_mask, num_images_per_prompt, device)
        batch = prompt_embeds.shape[0] // num_images_per_prompt
        if do_classifier_free_guidance and negative_prompt_embeds is None:
            negative = _as_prompt_list(negative_prompt, "negative_prompt") or [""]
            if len(negative) == 1:
                negative = negative * batch
            if len(negative) != batch:
                raise ValueError(f"negative_prompt has {len(negative)} entries but prompt has {batch}; give one, or one per prompt.")
            negative_prompt_embeds, negative_prompt_attention_mask = self._embed(negative, num_images_per_prompt, device)
        elif do_classifier_free_guidance:
            negative_prompt_embeds, negative_prompt_attention_mask = _repeat_given(
                negative_prompt_embeds, negative_prompt_attention_mask, num_images_per_prompt, device)
        if not do_classifier_free_guidance:
            negative_prompt_embeds = negative_prompt_attention_mask = None
        return prompt_embeds, prompt_attention_mask, negative_prompt_embeds, negative_prompt_attention_mask

    def _text(self, embeds: torch.Tensor, mask: torch.Tensor) -> TextEmbeddings:
        """States + mask -> what the transformer takes; pooled = masked mean, as the encoder pools."""
        dtype = self.transformer.dtype
        m = mask.unsqueeze(-1).float()
        pooled = (embeds.float() * m).sum(1) / m.sum(1).clamp(min=1.0)
        return TextEmbeddings(embeds.to(dtype), mask, pooled.to(dtype))

    def _prepare_text(self, prompt, negative_prompt, n_per_prompt: int, prompt_embeds, negative_prompt_embeds,
                      prompt_attention_mask, negative_prompt_attention_mask) -> tuple[TextEmbeddings, TextEmbeddings | None]:
        if prompt is not None and prompt_embeds is not None:
            raise ValueError("Give either `prompt` or `prompt_embeds`, not both.")
        if prompt is None and prompt_embeds is None:
            prompt = ""
        pe, pm, ne, nm = self.encode_prompt(
            prompt, self.do_classifier_free_guidance, negative_prompt, n_per_prompt, None,
            prompt_embeds, negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        return self._text(pe, pm), (self._text(ne, nm) if ne is not None else None)

    # ------------------------------------------------------------- the model
    def _predict_velocity(self, x: torch.Tensor, sigma: torch.Tensor, cond: TextEmbeddings, uncond: TextEmbeddings | None,
                          guidance_scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Guided velocity, the conditional one and the unconditional one (None when this step
        runs unguided: then one forward instead of two, and the result is exactly v_cond)."""
        guided = uncond is not None and guidance_scale > 1.0
        x_in = torch.cat([x, x]) if guided else x
        t = flow.timestep_from_sigma(sigma).expand(x_in.shape[0]).to(x.device)
        with autocast_context(x.device, self.autocast_dtype):
            text = self._text_conditioning(cond, uncond if guided else None)
            v = self.transformer(x_in.to(self.transformer.dtype), t, text_conditioning=text).sample.float()
        if not guided:
            return v, v, None
        v_uncond, v_cond = v.chunk(2)
        return v_uncond + guidance_scale * (v_cond - v_uncond), v_cond, v_uncond

    def _text_conditioning(self, cond: TextEmbeddings, uncond: TextEmbeddings | None):
        """The transformer's text-side work for (uncond, cond), or cond alone, done once per
        run (`_denoise` empties the cache at its start): a run's embeddings never change, so this
        is the same computation done earlier, not an approximation."""
        cache = self.__dict__.setdefault("_text_cache", {})
        key = (id(cond), id(uncond))  # the embeddings are kept in the entry, so their ids stay unique
        if key not in cache:
            text = TextEmbeddings.cat([uncond, cond]) if uncond is not None else cond
            cache[key] = (cond, uncond, self.transformer.encode_text(text.hidden_states, text.attention_mask, text.pooled))
        return cache[key][2]

    def _step_guidance(self, sigma: float, interval: tuple[float, float] | None) -> float:
        """The scale read at every step (a callback may have changed it); 1 outside the interval."""
        if interval is not None and not interval[0] <= sigma <= interval[1]:
            return 1.0
        return self._guidance_scale

    # ------------------------------------------------------------- the loop
    @staticmethod
    def _plan(start: int, n_steps: int, jump_length: int, jump_n_sample: int) -> list[Step | Jump]:
        """The steps to run from `start`; with RePaint, segments of `jump_length` steps are
        run `jump_n_sample` times, jumping back up between repeats."""
        plan: list[Step | Jump] = []
        i = start
        while i < n_steps:
            end = min(i + jump_length, n_steps) if jump_n_sample > 1 else n_steps
            for rep in range(jump_n_sample):
                plan.extend(Step(k) for k in range(i, end))
                if rep < jump_n_sample - 1:
                    plan.append(Jump(at=end, back_to=i))
            i = end
        return plan

    @torch.no_grad()
    def _denoise(
        self, x: torch.Tensor, cond: TextEmbeddings, uncond: TextEmbeddings | None, num_inference_steps: int,
        start_index: int = 0, generator: torch.Generator | list[torch.Generator] | None = None,
        known: torch.Tensor | None = None, mask: torch.Tensor | None = None, jump_length: int = 1, jump_n_sample: int = 1,
        guidance_interval: tuple[float, float] | None = None, return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None, callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> tuple[torch.Tensor, list[TraceStep] | None, int, int]:
        """The one denoising loop: integrate the flow ODE from step `start_index` to sigma = 0;
        returns (x, trace, steps run, model calls).

        Inpainting (`known`, `mask` with 1 = repaint): after every step the region outside the
        mask is replaced by the original, forward-noised to the new level, so the model only
        has to make the inside agree with it. RePaint resampling (`jump_n_sample` > 1) goes back
        up `jump_length` steps and down again, which lets inside and outside harmonise; it needs
        the first-order 'euler' sampler.
        """
        # 1. a fresh scheduler from this pipeline's config, so a run never changes another's
        scheduler = self._fresh_scheduler(num_inference_steps, start_index, x.device)
        order = getattr(scheduler, "order", 1)
        timesteps, sigmas = scheduler.timesteps, scheduler.sigmas.float().to(x.device)
        resample = jump_n_sample > 1 and known is not None
        if resample and flow.sampler_name(scheduler) not in flow.FIRST_ORDER:
            raise ValueError(f"RePaint resampling (jump_n_sample > 1) needs a first-order sampler: use 'euler', not {self.sampler!r}.")
        # 2. the plan: typed Step/Jump items (RePaint's jumps back up in noise)
        plan = self._plan(start_index, num_inference_steps, jump_length, jump_n_sample if resample else 1)
        self._num_timesteps = sum(isinstance(item, Step) for item in plan)
        self._interrupt = False
        self.__dict__["_text_cache"] = {}  # this run's text conditioning (see _text_conditioning)
        trace, n_steps, n_calls = [], 0, 0
        # 3. per step: predict, update (Heun: predictor + corrector), merge the known region, record, callback
        with self.progress_bar(total=self._num_timesteps) as bar:
            for item in plan:
                if self.interrupt:
                    break
                if isinstance(item, Jump):
                    noise = randn_tensor(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                    x = flow.renoise(x, float(sigmas[item.at * order]), float(sigmas[item.back_to * order]), noise)
                    continue
                first = item.index * order  # the step's first entry in the scheduler's timesteps
                if resample:
                    scheduler._step_index = first  # RePaint revisits steps; Euler's state is only this index
                sigma, sigma_next = sigmas[first], sigmas[first + 1]
                g = self._step_guidance(float(sigma), guidance_interval)
                x_t = x
                x, (step_v, *v_parts), calls = self._solver_step(scheduler, x, first, sigmas, cond, uncond, g)
                n_calls += calls
                x0_pred, noise_pred = flow.predict_x0(x_t, step_v, sigma), flow.predict_noise(x_t, step_v, sigma)
                extras = {}
                if known is not None:
                    x, extras = self._merge_known(x, known, mask, sigma_next, generator)
                if return_trace:
                    trace.append(self._trace_step(n_steps, x_t, x, x0_pred, noise_pred, v_parts, sigma,
                                                  sigma_next, g, extras))
                if callback_on_step_end is not None:
                    local = {"latents": x, "x0_pred": x0_pred, "noise_pred": noise_pred, "prompt_embeds": cond.hidden_states}
                    kwargs = {name: local[name] for name in callback_on_step_end_tensor_inputs or ["latents"]}
                    x = (callback_on_step_end(self, n_steps, timesteps[first], kwargs) or {}).get("latents", x)
                n_steps += 1
                bar.update()
        return x, (trace if return_trace else None), n_steps, n_calls

    # --------------------------------------------------------------- helpers
    def _fresh_scheduler(self, num_inference_steps: int, start_index: int, device: torch.device):
        """A new scheduler from this pipeline's config, positioned at `start_index`: a run
        never shares step state with another."""
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps, device=device)
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(start_index * getattr(scheduler, "order", 1))
        return scheduler

    def _solver_step(self, scheduler, x: torch.Tensor, first: int, sigmas: torch.Tensor, cond: TextEmbeddings,
                     uncond: TextEmbeddings | None, guidance: float) -> tuple[torch.Tensor, tuple, int]:
        """One step of the sampler from scheduler entry `first`: one model call, or two for
        Heun (predictor, then corrector). Returns (x after the step, the step's first
        (guided, conditional, unconditional) velocities, model calls)."""
        timesteps = scheduler.timesteps
        first_v = None
        end = min(first + getattr(scheduler, "order", 1), len(timesteps))
        for j in range(first, end):
            v, v_cond, v_uncond = self._predict_velocity(x, sigmas[j], cond, uncond, guidance)
            if first_v is None:
                first_v = (v, v_cond, v_uncond)
            x = scheduler.step(v, timesteps[j], x, return_dict=False)[0]
        return x, first_v, end - first

    @staticmethod
    def _merge_known(x: torch.Tensor, known: torch.Tensor, mask: torch.Tensor, sigma_next: torch.Tensor,
                     generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Inpainting: outside the mask, the original forward-noised to the new level."""
        noise = randn_tensor(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        known_next = flow.add_noise(known, noise, sigma_next)
        return mask * x + (1.0 - mask) * known_next, {"proposal": x, "known_noised": known_next}

    @staticmethod
    def _trace_step(index: int, x_t: torch.Tensor, x_next: torch.Tensor, x0_pred: torch.Tensor, noise_pred: torch.Tensor,
                    v_parts: tuple[torch.Tensor, torch.Tensor | None], sigma: torch.Tensor, sigma_next: torch.Tensor,
                    guidance: float, extras: dict[str, torch.Tensor]) -> TraceStep:
        """One step's record (on the CPU): the panels of the trace views are made from it."""
        v_cond, v_uncond = v_parts
        return TraceStep(
            index=index, timestep=float(flow.timestep_from_sigma(sigma)), sigma=float(sigma), sigma_next=float(sigma_next),
            x_t=x_t.cpu(), x0_pred=x0_pred.cpu(), noise_pred=noise_pred.cpu(),
            x0_cond=flow.predict_x0(x_t, v_cond, sigma).cpu(),
            x0_uncond=None if v_uncond is None else flow.predict_x0(x_t, v_uncond, sigma).cpu(),
            guidance_scale=guidance if v_uncond is not None else 1.0, x_next=x_next.cpu(),
            extras={name: t.cpu() for name, t in extras.items()},
        )

    def _output(self, x: torch.Tensor, x01: torch.Tensor | None, output_type: str, trace, n_run: int, n_sched: int,
                n_calls: int, return_dict: bool):
        """`x` the final model-space state ('latent'), `x01` what is shown, in [0, 1]."""
        images = x if output_type == "latent" else unit_to_output(x01, output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, trace)
        return DiTPipelineOutput(images=images, trace=trace, num_steps_run=n_run, num_steps_scheduled=n_sched, num_model_calls=n_calls)

    def _check_common(self, num_inference_steps, guidance_scale, output_type: str, num_images_per_prompt,
                      callback_on_step_end_tensor_inputs, guidance_interval) -> None:
        check_number("num_inference_steps", num_inference_steps, 1, 1000, integer=True)
        check_number("guidance_scale", guidance_scale, 0, 100)
        check_number("num_images_per_prompt", num_images_per_prompt, 1, 256, integer=True)
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"Unknown output_type {output_type!r}; use one of {', '.join(OUTPUT_TYPES)}.")
        unknown = [n for n in callback_on_step_end_tensor_inputs or [] if n not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs has {unknown}; allowed: {self._callback_tensor_inputs}.")
        if guidance_interval is not None:
            lo, hi = (check_number("guidance_interval", v, 0, 1) for v in guidance_interval)
            if lo > hi:
                raise ValueError(f"guidance_interval must be (low, high) with low <= high; got {guidance_interval}.")

    def _per_image(self, t: torch.Tensor, n_prompts: int, num_images_per_prompt: int, what: str = "images") -> torch.Tensor:
        """One row of `t` per generated image: one for all, or one per prompt (repeated per image)."""
        n = n_prompts * num_images_per_prompt
        t = t.to(self._execution_device)
        if t.shape[0] == 1 and n > 1:
            return t.expand(n, *t.shape[1:])
        if t.shape[0] == n_prompts and num_images_per_prompt > 1:
            return t.repeat_interleave(num_images_per_prompt, 0)
        if t.shape[0] != n:
            raise ValueError(f"Got {t.shape[0]} {what} for {n_prompts} prompts; give one, or one per prompt.")
        return t

    def _step_sigmas(self, num_inference_steps: int) -> torch.Tensor:
        """The noise level at the start of each of the num_inference_steps steps."""
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps)
        return flow.schedule_sigmas(scheduler)[:: getattr(scheduler, "order", 1)]

    def _start(self, x0: torch.Tensor, sigma: torch.Tensor, generator, latents: torch.Tensor | None) -> torch.Tensor:
        """The loop's starting state: `latents` if given, else x0 noised to sigma."""
        if latents is not None:
            if latents.shape != x0.shape:
                raise ValueError(f"latents must have shape {tuple(x0.shape)}, got {tuple(latents.shape)}.")
            return latents.to(x0.device, torch.float32)
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        return flow.add_noise(x0, noise, sigma)

    def _begin(self, guidance_scale: float, **checks) -> None:
        self._check_common(guidance_scale=guidance_scale, **checks)
        self._guidance_scale = float(guidance_scale)
        self._interrupt = False

    # ------------------------------------------------------ forward process
    @torch.no_grad()
    def forward_process(
        self,
        image: ImageInput,
        num_inference_steps: int = DEFAULT_STEPS,
        steps: list[int] | None = None,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
    ) -> ForwardProcessOutput:
        """x_t = (1 - sigma) x_0 + sigma eps at forward step k of N (0 = the data, N = pure
        noise), on the sampler's own sigma grid (one sigma per step, as the reverse run uses
        them), with one eps shared by all steps."""
        n = check_number("num_inference_steps", num_inference_steps, 1, 1000, integer=True)
        grid = torch.cat([self._step_sigmas(n), torch.zeros(1)])  # noise -> data, length N + 1
        steps = list(range(n + 1)) if steps is None else list(steps)
        if any(not isinstance(s, (int, np.integer)) or s < 0 or s > n for s in steps):
            raise ValueError(f"steps must be whole numbers in [0, {n}] for {n} steps; got {steps}.")
        x0 = unit_to_model(to_unit_tensor(image, self.sample_size))
        noise = randn_tensor(x0.shape, generator=generator, dtype=x0.dtype)
        sigmas = [float(grid[n - s]) for s in steps]
        xs = torch.cat([flow.add_noise(x0, noise, s) for s in sigmas])
        # x_t leaves [-1, 1] at high noise; shown clipped, like every image here
        images = xs if output_type == "latent" else unit_to_output(model_to_unit(xs), output_type)
        return ForwardProcessOutput(steps=steps, sigmas=sigmas, images=images, noise=noise)


def _broadcast_prompt(prompt, prompt_embeds, mask, n_images: int):
    """One prompt (or one row of embeddings) for several images: repeated, one per image."""
    prompts = _as_prompt_list(prompt)
    if prompts is not None and len(prompts) == 1 and n_images > 1:
        prompts = prompts * n_images
    if prompt_embeds is not None and prompt_embeds.shape[0] == 1 and n_images > 1:
        prompt_embeds = prompt_embeds.expand(n_images, *prompt_embeds.shape[1:])
        mask = None if mask is None else mask.expand(n_images, *mask.shape[1:])
    return prompts, prompt_embeds, mask


def _repeat_given(embeds: torch.Tensor, mask: torch.Tensor | None, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    if embeds.ndim != 3:
        raise ValueError(f"prompt embeddings must be (batch, tokens, dim), got shape {tuple(embeds.shape)}.")
    if mask is None:
        mask = torch.ones(embeds.shape[:2], dtype=torch.long)
    return embeds.to(device).repeat_interleave(n, 0), mask.to(device).repeat_interleave(n, 0)


class DiTText2ImagePipeline(DiTPipelineBase):
    r"""Text -> 32x32 image with our DiT and classifier-free guidance.

    Returns `DiTPipelineOutput`: `images` (PIL list, numpy (N, H, W, 3) in [0, 1], torch
    (N, 3, H, W) in [0, 1], or 'latent': the final model-space tensor in [-1, 1], unclipped),
    and `trace` (one `TraceStep` per step) when `return_trace=True`.
    `guidance_interval=(lo, hi)` applies guidance only at noise levels lo <= sigma <= hi; the
    other steps run one forward pass instead of two.
    """

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] | None = None,
        negative_prompt: str | list[str] | None = None,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = flow.DEFAULT_GUIDANCE,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        negative_prompt_attention_mask: torch.Tensor | None = None,
        guidance_interval: tuple[float, float] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        # 1. check inputs
        self._begin(guidance_scale, num_inference_steps=num_inference_steps, output_type=output_type,
                    num_images_per_prompt=num_images_per_prompt, guidance_interval=guidance_interval,
                    callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs)
        # 2. encode the prompts
        cond, uncond = self._prepare_text(_as_prompt_list(prompt), negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        # 3. the starting noise
        shape = (cond.hidden_states.shape[0], self.transformer.config.in_channels, self.sample_size, self.sample_size)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=self._execution_device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}.")
        # 4. denoise
        x, trace, n_run, n_calls = self._denoise(
            latents.to(self._execution_device, torch.float32), cond, uncond, num_inference_steps, generator=generator,
            guidance_interval=guidance_interval, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        # 5. post-process
        return self._output(x, model_to_unit(x), output_type, trace, n_run, num_inference_steps, n_calls, return_dict)


class DiTImg2ImgPipeline(DiTPipelineBase):
    r"""Denoising / SDEdit: noise an image to a level, then run the reverse process from there.

    `strength` in [0, 1] is the fraction of the `num_inference_steps` schedule that runs
    (0 returns the input unchanged, 1 starts from pure noise). Or give `sigma`, the noise
    level directly; with `image_is_noisy=True` the image is taken as already noised to
    `sigma` (x_t = (1 - sigma) x0 + sigma eps) and no noise is added. The run starts at the
    scheduled step whose sigma is nearest the level asked for; `num_steps_run` says how many
    ran. `latents`, if given, is the noisy starting state itself.
    """

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput | list,
        prompt: str | list[str] | None = None,
        negative_prompt: str | list[str] | None = None,
        strength: float | None = 0.5,
        sigma: float | None = None,
        image_is_noisy: bool = False,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = 1.0,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        negative_prompt_attention_mask: torch.Tensor | None = None,
        guidance_interval: tuple[float, float] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        # 1. check inputs
        self._begin(guidance_scale, num_inference_steps=num_inference_steps, output_type=output_type,
                    num_images_per_prompt=num_images_per_prompt, guidance_interval=guidance_interval,
                    callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs)
        if sigma is not None:
            check_number("sigma", sigma, 0, 1)
        else:
            check_number("strength", strength, 0, 1)
        if image_is_noisy and sigma is None:
            raise ValueError("image_is_noisy=True needs sigma, the noise level the image already has.")
        # 2. encode the prompts (one for all images, or one per image), one image per generated image
        x01 = to_unit_tensor(image, self.sample_size)
        prompt, prompt_embeds, prompt_attention_mask = _broadcast_prompt(prompt, prompt_embeds, prompt_attention_mask, x01.shape[0])
        cond, uncond = self._prepare_text(prompt, negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        x01 = self._per_image(x01, cond.hidden_states.shape[0] // num_images_per_prompt, num_images_per_prompt)
        # 3. where on the schedule to start
        start, start_sigma = self.start_step(num_inference_steps, strength, sigma)
        x0 = unit_to_model(x01)
        if start >= num_inference_steps:
            self._num_timesteps = 0
            return self._output(x0, x01, output_type, [] if return_trace else None, 0, num_inference_steps, 0, return_dict)
        x = x0 if image_is_noisy and latents is None else self._start(x0, torch.tensor(start_sigma), generator, latents)
        # 4. denoise
        x, trace, n_run, n_calls = self._denoise(
            x, cond, uncond, num_inference_steps, start_index=start, generator=generator,
            guidance_interval=guidance_interval, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        # 5. post-process
        return self._output(x, model_to_unit(x), output_type, trace, n_run, num_inference_steps, n_calls, return_dict)


    def start_step(self, num_inference_steps: int, strength: float | None = 0.5, sigma: float | None = None) -> tuple[int, float]:
        """(first step to run, its noise level): the scheduled step nearest `sigma` if given
        (sigma = 0, or nearer 0 than any step, runs nothing: returns num_inference_steps), else
        the last `strength` fraction of the schedule."""
        step_sigmas = torch.cat([self._step_sigmas(num_inference_steps), torch.zeros(1)])
        if sigma is not None:
            start = int((step_sigmas - sigma).abs().argmin())
        else:
            start = num_inference_steps - min(int(round(num_inference_steps * strength)), num_inference_steps)
        return start, float(step_sigmas[start])


class DiTInpaintPipeline(DiTPipelineBase):
    r"""Inpainting: repaint where `mask_image` is white (>= 0.5), keep the rest.

    The mask has the image's size (one mask for all images, or one per image). At every step
    the known region is replaced by the original noised to the current level; at the end the
    original pixels are pasted back outside the mask, so they are returned exactly.
    `strength` < 1 starts from a noised copy of the image instead of pure noise (keeps the old
    content's colours inside). `latents`, if given, is the starting state itself.
    """

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput | list,
        mask_image: ImageInput | list,
        prompt: str | list[str] | None = None,
        negative_prompt: str | list[str] | None = None,
        strength: float = 1.0,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = flow.DEFAULT_GUIDANCE,
        num_images_per_prompt: int = 1,
        jump_length: int = 1,
        jump_n_sample: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        negative_prompt_attention_mask: torch.Tensor | None = None,
        guidance_interval: tuple[float, float] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        # 1. check inputs
        self._begin(guidance_scale, num_inference_steps=num_inference_steps, output_type=output_type,
                    num_images_per_prompt=num_images_per_prompt, guidance_interval=guidance_interval,
                    callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs)
        check_number("strength", strength, 0, 1, low_open=True)
        check_number("jump_length", jump_length, 1, 1000, integer=True)
        check_number("jump_n_sample", jump_n_sample, 1, 100, integer=True)
        # 2. encode the prompts; images and masks, one per generated image
        x01 = to_unit_tensor(image, self.sample_size)
        prompt, prompt_embeds, prompt_attention_mask = _broadcast_prompt(prompt, prompt_embeds, prompt_attention_mask, x01.shape[0])
        cond, uncond = self._prepare_text(prompt, negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        n_prompts = cond.hidden_states.shape[0] // num_images_per_prompt
        x01 = self._per_image(x01, n_prompts, num_images_per_prompt)
        mask = self._per_image(_mask_tensors(image, mask_image, self.sample_size), n_prompts, num_images_per_prompt, "masks")
        # 3. the starting state
        step_sigmas = self._step_sigmas(num_inference_steps)
        start = min(num_inference_steps - int(round(num_inference_steps * strength)), num_inference_steps - 1)
        known = unit_to_model(x01)
        x = self._start(known, step_sigmas[start], generator, latents)
        # 4. denoise
        x, trace, n_run, n_calls = self._denoise(
            x, cond, uncond, num_inference_steps, start_index=start, generator=generator,
            known=known, mask=mask, jump_length=jump_length, jump_n_sample=jump_n_sample,
            guidance_interval=guidance_interval, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        # 5. post-process: the exact original outside the mask
        out01 = mask * model_to_unit(x) + (1.0 - mask) * x01
        return self._output(x, out01, output_type, trace, n_run, num_inference_steps, n_calls, return_dict)


def _mask_tensors(image: ImageInput | list, mask_image: ImageInput | list, size: int) -> torch.Tensor:
    """(M, 1, size, size) masks: one for all images, or one per image, each the size of its image."""
    images = image if isinstance(image, list) else [image]
    masks = mask_image if isinstance(mask_image, list) else [mask_image]
    if not masks:
        raise ValueError("mask_image is an empty list; pass one mask, or one per image.")
    if len(masks) == 1:
        return to_mask_tensor(masks[0], image_hw(images[0]), size)
    if len(masks) != len(images):
        raise ValueError(f"Got {len(masks)} masks for {len(images)} images; give one mask, or one per image.")
    return torch.cat([to_mask_tensor(m, image_hw(i), size) for m, i in zip(masks, images)])
