"""What the three pipelines share: components, prompts, the autoencoder, and the one denoising loop.

The loop (`DiTPipelineBase.denoise`) does the solver step and classifier-free guidance. What
differs between pipelines comes in through two hooks: an after-step hook (inpainting's merge
with the known region, RePaint's jumps back up in noise; `pipeline_inpaint.KnownRegion`) and a
recorder (the per-step trace, `trace.TraceRecorder`).

Pixel space or latent space: with a `vae` the transformer works on the autoencoder's scaled
latents, `(z - shift_factor) * scaling_factor`, and images are decoded at the end; without one
(None) it works on pixels in [-1, 1]. Everything else is the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from . import schedulers as flow
import numpy as np
from diffusers.utils.torch_utils import randn_tensor

from .checks import as_prompt_list, check_batch, check_common, check_embeddings, check_number
from .fast import denoising_step
from .hardware import autocast_context, best_autocast_dtype
from .image_utils import ImageInput, model_to_unit, to_unit_tensor, unit_to_model, unit_to_output
from .latents import LatentSpace
from .text_encoder import MAX_TEXT_LENGTH, TEXT_DIM, TextEmbeddings, masked_mean, packaged_text_encoder, prompt_cache_for
from .trace import TraceRecorder, TraceStep
from .transformer_dit import DiTTransformer

DEFAULT_STEPS = 20


@dataclass
class DiTPipelineOutput(BaseOutput):
    images: list[PIL.Image.Image] | torch.Tensor | object  # PIL list, numpy array, tensor, or latents
    trace: list[TraceStep] | None = None
    num_steps_run: int = 0  # steps run on the reverse path (RePaint's repeats included)
    num_steps_scheduled: int = 0  # num_inference_steps asked for
    num_model_calls: int = 0  # transformer forwards (Heun: two per step but the last)


@dataclass
class ForwardProcessOutput(BaseOutput):
    steps: list[int]  # forward step k of num_inference_steps: 0 = data, N = noise
    sigmas: list[float]
    images: list[PIL.Image.Image] | torch.Tensor | object  # x_t for each step (decoded, for a latent model)
    noise: torch.Tensor  # the eps shared by all steps (model space)
    latents: torch.Tensor | None = None  # x_t in model space, one per step


class AfterStep(Protocol):
    """A hook the loop calls after each solver step (inpainting's `KnownRegion`)."""

    def steps_to_run(self, start: int, n: int) -> int: ...

    def merge(self, index: int, x: torch.Tensor, sigma_next: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...

    def next_index(self, index: int, x: torch.Tensor, sigmas: torch.Tensor, order: int) -> tuple[int, torch.Tensor]: ...


class GuidedVelocity:
    """The model's velocity for one run's prompts, with classifier-free guidance:
    v = v_uncond + g (v_cond - v_uncond), both halves from one batched forward."""

    def __init__(self, transformer: DiTTransformer, cond: TextEmbeddings, uncond: TextEmbeddings | None,
                 autocast_dtype: torch.dtype | None) -> None:
        self.transformer, self.uncond, self.autocast_dtype = transformer, uncond, autocast_dtype
        self.set_cond(cond)

    def set_cond(self, cond: TextEmbeddings) -> None:
        """New conditional embeddings (a callback may return new `prompt_embeds`): the steps are rebuilt."""
        self.cond = cond
        self._steps: dict[bool, Callable] = {}

    def _step(self, guided: bool) -> Callable:
        if guided not in self._steps:  # the text work, once per run and kind of step
            text = TextEmbeddings.cat([self.uncond, self.cond]) if guided else self.cond
            dtype = self.transformer.dtype
            self._steps[guided] = denoising_step(self.transformer, text.hidden_states.to(dtype), text.attention_mask, text.pooled.to(dtype))
        return self._steps[guided]

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, scale: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(guided v, v_cond, v_uncond); unguided steps run one forward and v_uncond is None."""
        guided = self.uncond is not None and scale > 1.0
        x_in = torch.cat([x, x]) if guided else x
        t = flow.timestep_from_sigma(sigma).expand(x_in.shape[0]).to(x.device)
        with autocast_context(x.device, self.autocast_dtype):
            v = self._step(guided)(x_in.to(self.transformer.dtype), t).float()
        if not guided:
            return v, v, None
        v_uncond, v_cond = v.chunk(2)
        return v_uncond + scale * (v_cond - v_uncond), v_cond, v_uncond


@dataclass
class StepHooks:
    """What a pipeline adds to the loop."""

    after_step: AfterStep | None = None
    recorder: TraceRecorder | None = None
    callback: Callable[..., dict] | None = None  # diffusers' callback_on_step_end
    callback_inputs: list[str] | None = None
    guidance_interval: tuple[float, float] | None = None


class DiTPipelineBase(DiffusionPipeline):
    """Shared parts: components, prompt encoding (cached), the autoencoder, the denoising loop.

    The text encoder is frozen and large (90 MB), so it is an optional component: with
    `tokenizer`/`text_encoder` None the packaged all-MiniLM-L6-v2 is loaded on the first
    prompt that needs it (never with `prompt_embeds`), and `save_pretrained` writes only the
    DiT, the scheduler and (for a latent model) the autoencoder.
    """

    model_cpu_offload_seq = "text_encoder->transformer->vae"
    _optional_components = ["tokenizer", "text_encoder", "vae"]
    _callback_tensor_inputs = ["latents", "x0_pred", "noise_pred", "prompt_embeds"]

    def __init__(self, transformer: DiTTransformer, scheduler, tokenizer=None, text_encoder=None, vae=None) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, scheduler=scheduler, tokenizer=tokenizer, text_encoder=text_encoder, vae=vae)
        self._guidance_scale = flow.DEFAULT_GUIDANCE
        self._interrupt = False
        self._num_timesteps = 0
        self._text_encoder_dtype: torch.dtype | None = None  # set by from_pretrained(dtype=...)
        # None = fp32 (or the weights' own dtype: set_precision("bf16") casts them instead)
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
    def space(self) -> LatentSpace:
        """Pixels <-> what the transformer works on (identity without a vae)."""
        return LatentSpace(self.vae)

    @property
    def vae_scale_factor(self) -> int:
        return self.space.scale_factor

    @property
    def sample_size(self) -> int:
        """Image side in pixels (the transformer's side times the autoencoder's factor)."""
        return self.transformer.config.sample_size * self.vae_scale_factor

    @property
    def sampler(self) -> str:
        return flow.sampler_name(self.scheduler)

    def set_sampler(self, name: str, shift: float | None = None) -> None:
        """Swap this pipeline's scheduler by name ('euler', 'heun', 'dpm++2m', 'unipc'); the
        timestep shift (schedulers.SAMPLERS says what it does) stays the current scheduler's,
        the one the model was saved with, unless `shift` is given."""
        self.scheduler = flow.make_scheduler(name, flow.scheduler_shift(self.scheduler) if shift is None else shift)

    def set_precision(self, mode: str = "auto") -> str:
        """'fp32'; 'bf16' (the transformer's weights cast to bf16: on a CPU with native bf16
        this is faster than autocast, which re-casts every weight at every call); 'autocast'
        (bf16 autocast over fp32 weights, for GPUs); 'auto' picks the fastest the hardware
        runs natively. Returns the mode used. Affects every pipeline sharing the transformer;
        casting to bf16 rounds the weights, so going back to fp32 exactly means reloading.
        The autoencoder stays fp32: it runs once per image."""
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
    def text_encoder_pair(self) -> tuple:
        """(tokenizer, text_encoder): this pipeline's, or the packaged MiniLM when they are None."""
        if self.tokenizer is not None and self.text_encoder is not None:
            return self.tokenizer, self.text_encoder
        return packaged_text_encoder(self._text_encoder_dtype)

    def _embed(self, prompts: list[str], n_per_prompt: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        tokenizer, text_encoder = self.text_encoder_pair()
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
        Given embeddings are checked and repeated per image, not re-encoded; negative ones are
        broadcast like the positive ones (one row for all prompts, or one per prompt)."""
        device = device or self._execution_device
        check_embeddings("prompt", prompt_embeds, prompt_attention_mask, MAX_TEXT_LENGTH, TEXT_DIM)
        check_embeddings("negative_prompt", negative_prompt_embeds, negative_prompt_attention_mask, MAX_TEXT_LENGTH, TEXT_DIM)
        if prompt_embeds is None:
            prompts = as_prompt_list(prompt)
            if prompts is None:
                raise ValueError("Give `prompt` or `prompt_embeds`.")
            prompt_embeds, prompt_attention_mask = self._embed(prompts, 1, device)
        prompt_embeds, prompt_attention_mask = _with_mask(prompt_embeds, prompt_attention_mask, device)
        batch = prompt_embeds.shape[0]
        neg_embeds = neg_mask = None
        if do_classifier_free_guidance and negative_prompt_embeds is None:
            negative = as_prompt_list(negative_prompt, "negative_prompt") or [""]
            check_batch("negative prompts", len(negative), batch)
            neg_embeds, neg_mask = self._embed(negative * (batch // len(negative)), 1, device)
        elif do_classifier_free_guidance:
            check_batch("rows of negative_prompt_embeds", negative_prompt_embeds.shape[0], batch)
            neg_embeds, neg_mask = _with_mask(negative_prompt_embeds, negative_prompt_attention_mask, device)
            neg_embeds, neg_mask = (t.expand(batch, *t.shape[1:]) for t in (neg_embeds, neg_mask))
        if neg_embeds is not None and neg_embeds.shape[1] != prompt_embeds.shape[1]:  # one batch needs one length
            length = max(neg_embeds.shape[1], prompt_embeds.shape[1])
            (prompt_embeds, prompt_attention_mask), (neg_embeds, neg_mask) = (
                _pad(e, m, length) for e, m in ((prompt_embeds, prompt_attention_mask), (neg_embeds, neg_mask)))
        repeat = lambda t: None if t is None else t.repeat_interleave(num_images_per_prompt, 0)  # noqa: E731
        return repeat(prompt_embeds), repeat(prompt_attention_mask), repeat(neg_embeds), repeat(neg_mask)

    def prompt_text(self, embeds: torch.Tensor, mask: torch.Tensor) -> TextEmbeddings:
        """States + mask -> what the transformer takes (pooled = the encoder's masked mean)."""
        return TextEmbeddings(embeds, mask, masked_mean(embeds, mask))

    def _prepare_text(self, prompt, negative_prompt, n_per_prompt: int, prompt_embeds, negative_prompt_embeds,
                      prompt_attention_mask, negative_prompt_attention_mask) -> tuple[TextEmbeddings, TextEmbeddings | None]:
        if prompt is not None and prompt_embeds is not None:
            raise ValueError("Give either `prompt` or `prompt_embeds`, not both.")
        if prompt is None and prompt_embeds is None:
            prompt = ""
        pe, pm, ne, nm = self.encode_prompt(
            prompt, self.do_classifier_free_guidance, negative_prompt, n_per_prompt, None,
            prompt_embeds, negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        return self.prompt_text(pe, pm), (self.prompt_text(ne, nm) if ne is not None else None)

    def tokens(self, prompt: str) -> list[str]:
        """The word pieces the tokenizer makes of a prompt, [CLS] and [SEP] included, as the
        encoder sees them (lower-cased, cut at MAX_TEXT_LENGTH)."""
        tokenizer = self.text_encoder_pair()[0]
        ids = tokenizer(prompt.strip().lower(), truncation=True, max_length=MAX_TEXT_LENGTH)["input_ids"]
        return tokenizer.convert_ids_to_tokens(ids)

    @torch.no_grad()
    def cross_attention(self, prompt: str, x_t: torch.Tensor, sigma: float) -> tuple[torch.Tensor, list[str]]:
        """How much each image token attends to each prompt token at noise level sigma, averaged
        over blocks and heads: ((T image tokens, tokens) for the first image of x_t, the tokens)."""
        embeds, mask, _, _ = self.encode_prompt(prompt, do_classifier_free_guidance=False)
        m = self.transformer
        t = flow.timestep_from_sigma(torch.tensor([float(sigma)] * x_t.shape[0], device=m.device))
        out = m(x_t.to(m.device, m.dtype), t, embeds.to(m.dtype).expand(x_t.shape[0], -1, -1), mask.expand(x_t.shape[0], -1),
                return_attention=True)
        tokens = self.tokens(prompt)
        maps = torch.stack(out.attention_maps).float().mean(dim=(0, 2))[0].cpu()  # (T, L)
        return maps[:, : len(tokens)], tokens

    def velocity_model(self, cond: TextEmbeddings, uncond: TextEmbeddings | None) -> GuidedVelocity:
        return GuidedVelocity(self.transformer, cond, uncond, self.autocast_dtype)

    # ------------------------------------------------------------- the loop
    def _fresh_scheduler(self, num_inference_steps: int, start_index: int, device: torch.device):
        """A new scheduler from this pipeline's config, positioned at `start_index`: a run
        never shares step state with another."""
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(num_inference_steps, device=device)
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(start_index * getattr(scheduler, "order", 1))
        return scheduler

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, velocity: GuidedVelocity, num_inference_steps: int, start_index: int = 0,
                hooks: StepHooks | None = None) -> tuple[torch.Tensor, int, int]:
        """The one denoising loop: integrate the flow ODE from step `start_index` to sigma = 0.
        Returns (x, steps run, model calls)."""
        hooks = hooks or StepHooks()
        # 1. a fresh scheduler, so a run never changes another's
        scheduler = self._fresh_scheduler(num_inference_steps, start_index, x.device)
        order = getattr(scheduler, "order", 1)
        sigmas = scheduler.sigmas.float().to(x.device)
        after = hooks.after_step
        self._num_timesteps = after.steps_to_run(start_index, num_inference_steps) if after else num_inference_steps - start_index
        self._interrupt = False
        n_steps, n_calls, index = 0, 0, start_index
        with self.progress_bar(total=self._num_timesteps) as bar:
            while index < num_inference_steps and not self.interrupt:
                # 2. the solver step (Heun: predictor and corrector) with guidance
                first = index * order
                sigma, sigma_next = sigmas[first], sigmas[first + 1]
                g = self._step_guidance(float(sigma), hooks.guidance_interval)
                x_t = x
                x, v_parts, calls = self._solver_step(scheduler, x, first, sigmas, velocity, g)
                n_calls += calls
                # 3. the after-step hook (inpainting's merge), the callback, the record
                extras = {}
                if after is not None:
                    x, extras = after.merge(index, x, float(sigma_next))
                x = self._callback(hooks, velocity, n_steps, scheduler.timesteps[first], x, x_t, v_parts[0], sigma)
                if hooks.recorder is not None:
                    hooks.recorder.record(n_steps, x_t, x, v_parts, float(sigma), float(sigma_next), g, extras)
                # 4. the next step (RePaint may jump back up in noise to an earlier one)
                nxt, x = after.next_index(index, x, sigmas, order) if after else (index + 1, x)
                if nxt != index + 1:
                    scheduler._step_index = nxt * order  # only first-order schedulers revisit (checked by the pipeline)
                index, n_steps = nxt, n_steps + 1
                bar.update()
        return x, n_steps, n_calls

    def _step_guidance(self, sigma: float, interval: tuple[float, float] | None) -> float:
        """The scale read at every step (a callback may have changed it); 1 outside the interval."""
        if interval is not None and not interval[0] <= sigma <= interval[1]:
            return 1.0
        return self._guidance_scale

    @staticmethod
    def _solver_step(scheduler, x: torch.Tensor, first: int, sigmas: torch.Tensor, velocity: GuidedVelocity,
                     guidance: float) -> tuple[torch.Tensor, tuple, int]:
        """One step of the sampler from scheduler entry `first`: one model call, or two for
        Heun (predictor, then corrector). Returns (x after the step, the step's first
        (guided, conditional, unconditional) velocities, model calls)."""
        timesteps = scheduler.timesteps
        first_v = None
        end = min(first + getattr(scheduler, "order", 1), len(timesteps))
        for j in range(first, end):
            v_parts = velocity(x, sigmas[j], guidance)
            first_v = first_v or v_parts
            x = scheduler.step(v_parts[0], timesteps[j], x, return_dict=False)[0]
        return x, first_v, end - first

    def _callback(self, hooks: StepHooks, velocity: GuidedVelocity, i: int, t, x: torch.Tensor, x_t: torch.Tensor,
                  v: torch.Tensor, sigma) -> torch.Tensor:
        """diffusers' callback_on_step_end: it may return new `latents` (the state the next step
        starts from) and new `prompt_embeds` (the conditional text from the next step on)."""
        if hooks.callback is None:
            return x
        local = {"latents": x, "x0_pred": flow.predict_x0(x_t, v, sigma), "noise_pred": flow.predict_noise(x_t, v, sigma),
                 "prompt_embeds": velocity.cond.hidden_states}
        out = hooks.callback(self, i, t, {k: local[k] for k in hooks.callback_inputs or ["latents"]}) or {}
        if "prompt_embeds" in out and out["prompt_embeds"] is not velocity.cond.hidden_states:
            embeds = out["prompt_embeds"]
            check_embeddings("prompt", embeds, velocity.cond.attention_mask, MAX_TEXT_LENGTH, TEXT_DIM)
            velocity.set_cond(self.prompt_text(embeds, velocity.cond.attention_mask))
        return out.get("latents", x)

    # --------------------------------------------------------------- helpers
    def check_inputs(self, guidance_scale, num_inference_steps, output_type, num_images_per_prompt,
                     callback_on_step_end_tensor_inputs, guidance_interval) -> None:
        check_common(num_inference_steps, guidance_scale, output_type, num_images_per_prompt,
                     callback_on_step_end_tensor_inputs, self._callback_tensor_inputs, guidance_interval)

    def _begin(self, guidance_scale: float, **checks) -> None:
        self.check_inputs(guidance_scale=guidance_scale, **checks)
        self._guidance_scale = float(guidance_scale)
        self._interrupt = False

    def recorder(self, return_trace: bool) -> TraceRecorder | None:
        return TraceRecorder(self.space) if return_trace else None

    def step_sigmas(self, num_inference_steps: int) -> torch.Tensor:
        """The noise level at the start of each of the num_inference_steps steps."""
        return flow.step_sigmas(self.scheduler, num_inference_steps)

    def _output(self, x: torch.Tensor, x01: torch.Tensor | None, output_type: str, recorder: TraceRecorder | None,
                n_run: int, n_sched: int, n_calls: int, return_dict: bool):
        """`x` the final model-space state ('latent'), `x01` the image shown, in [0, 1]."""
        images = x if output_type == "latent" else unit_to_output(x01, output_type)
        trace = recorder.finish() if recorder is not None else None
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, trace)
        return DiTPipelineOutput(images=images, trace=trace, num_steps_run=n_run, num_steps_scheduled=n_sched, num_model_calls=n_calls)

    def _per_image(self, t: torch.Tensor, n_prompts: int, num_images_per_prompt: int, what: str = "images") -> torch.Tensor:
        """One row of `t` per generated image: one for all, or one per prompt (repeated per image)."""
        check_batch(what, t.shape[0], n_prompts)
        t = t.to(self._execution_device)
        return t.expand(n_prompts, *t.shape[1:]).repeat_interleave(num_images_per_prompt, 0)

    def _noised(self, x0: torch.Tensor, sigma: torch.Tensor | float, generator, latents: torch.Tensor | None) -> torch.Tensor:
        """The loop's starting state: `latents` if given, else x0 noised to sigma."""
        if latents is not None:
            if latents.shape != x0.shape:
                raise ValueError(f"latents must have shape {tuple(x0.shape)}, got {tuple(latents.shape)}.")
            return latents.to(x0.device, torch.float32)
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        return flow.add_noise(x0, noise, sigma)

    def encode_images(self, x01: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> the transformer's space (pixels in [-1, 1], or scaled latents)."""
        return self.space.encode(unit_to_model(x01))

    def decode_to_unit(self, x: torch.Tensor) -> torch.Tensor:
        """The transformer's space -> images in [0, 1] (decoded through the vae, if any)."""
        return model_to_unit(self.space.decode(x))


    # ------------------------------------------------------ forward process
    @torch.no_grad()
    def forward_process(self, image: ImageInput | None = None, num_inference_steps: int = DEFAULT_STEPS, steps: list[int] | None = None,
                        generator: torch.Generator | None = None, output_type: str = "pil",
                        latents: torch.Tensor | None = None) -> ForwardProcessOutput:
        """x_t = (1 - sigma) x_0 + sigma eps at forward step k of N (0 = the data, N = pure noise),
        on the sampler's own sigma grid, with one eps shared by all steps. In latent space x_0 is
        the image's latent, and `images` are the decoded x_t. `latents`: x_0 given in the
        transformer's space instead of `image` (e.g. a run's final state, which a decode and
        encode would only approximate)."""
        n = check_number("num_inference_steps", num_inference_steps, 1, 1000, integer=True)
        grid = torch.cat([self.step_sigmas(n), torch.zeros(1)])  # noise -> data, length N + 1
        steps = list(range(n + 1)) if steps is None else list(steps)
        if any(not isinstance(s, (int, np.integer)) or s < 0 or s > n for s in steps):
            raise ValueError(f"steps must be whole numbers in [0, {n}] for {n} steps; got {steps}.")
        if (image is None) == (latents is None):
            raise ValueError("Give either `image` or `latents` (x_0 in the transformer's space), not both.")
        x0 = self.encode_images(to_unit_tensor(image, self.sample_size)) if latents is None else latents.float()
        noise = randn_tensor(x0.shape, generator=generator, dtype=x0.dtype)
        sigmas = [float(grid[n - s]) for s in steps]
        xs = torch.cat([flow.add_noise(x0, noise, s) for s in sigmas])
        # x_t leaves [-1, 1] at high noise; shown clipped, like every image here
        images = xs if output_type == "latent" else unit_to_output(self.decode_to_unit(xs), output_type)
        return ForwardProcessOutput(steps=steps, sigmas=sigmas, images=images, noise=noise, latents=xs)


def strength_start(num_inference_steps: int, strength: float) -> int:
    """First step to run for an img2img `strength`, as diffusers' flow-matching pipelines count:
    the last strength * N steps, rounded down at the start (0.25 of 10 runs 3 steps)."""
    return int(max(num_inference_steps - num_inference_steps * strength, 0))


def _pad(embeds: torch.Tensor, mask: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings padded to `length` tokens with zero states that the mask hides."""
    extra = length - embeds.shape[1]
    if extra == 0:
        return embeds, mask
    return (torch.cat([embeds, embeds.new_zeros(embeds.shape[0], extra, embeds.shape[2])], 1),
            torch.cat([mask, mask.new_zeros(mask.shape[0], extra)], 1))


def _with_mask(embeds: torch.Tensor, mask: torch.Tensor | None, device) -> tuple[torch.Tensor, torch.Tensor]:
    mask = torch.ones(embeds.shape[:2], dtype=torch.long) if mask is None else mask
    return embeds.to(device), mask.to(device)
