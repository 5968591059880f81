"""Inpainting: repaint where the mask is white, keep the rest exactly; RePaint resampling optional."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from diffusers.utils.torch_utils import randn_tensor

from . import schedulers as flow
from .checks import check_number
from .image_utils import ImageInput, image_hw, to_mask_tensor, to_unit_tensor
from .pipeline_base import DEFAULT_STEPS, DiTPipelineBase, DiTPipelineOutput, StepHooks, strength_start
from .pipeline_img2img import broadcast_prompt


class KnownRegion:
    """The loop's after-step hook for inpainting.

    merge: outside the mask, the state is replaced by the original forward-noised to the new
    level, so the model only has to make the inside agree with it. next_index: with RePaint
    (`jump_n_sample` > 1) each segment of `jump_length` steps runs `jump_n_sample` times; between
    repeats the state is re-noised from the segment's end back up to its start, which lets the
    inside and outside harmonise.
    """

    def __init__(self, known: torch.Tensor, mask: torch.Tensor, generator, jump_length: int = 1, jump_n_sample: int = 1) -> None:
        self.known, self.mask, self.generator = known, mask, generator  # mask: 1 = repaint, on the model's grid
        self.jump_length, self.jump_n_sample = jump_length, jump_n_sample
        self.segment_start, self.repeats_done = None, 0

    def _segment_end(self, start: int, n: int) -> int:
        return min(start + self.jump_length, n) if self.jump_n_sample > 1 else n

    def steps_to_run(self, start: int, n: int) -> int:
        total, i = 0, start
        while i < n:
            end = self._segment_end(i, n)
            total, i = total + (end - i) * self.jump_n_sample, end
        return total

    def merge(self, index: int, x: torch.Tensor, sigma_next: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.segment_start is None:  # the run's first step starts the first segment
            self.segment_start = index
        noise = randn_tensor(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
        known_next = flow.add_noise(self.known, noise, sigma_next)
        return self.mask * x + (1.0 - self.mask) * known_next, {"proposal": x, "known_noised": known_next}

    def next_index(self, index: int, x: torch.Tensor, sigmas: torch.Tensor, order: int) -> tuple[int, torch.Tensor]:
        n = (len(sigmas) - 1) // order
        if self.jump_n_sample == 1 or index + 1 != self._segment_end(self.segment_start, n):
            return index + 1, x
        if self.repeats_done < self.jump_n_sample - 1:
            self.repeats_done += 1
            noise = randn_tensor(x.shape, generator=self.generator, device=x.device, dtype=x.dtype)
            back = flow.renoise(x, float(sigmas[(index + 1) * order]), float(sigmas[self.segment_start * order]), noise)
            return self.segment_start, back
        self.segment_start, self.repeats_done = index + 1, 0
        return index + 1, x


class DiTInpaintPipeline(DiTPipelineBase):
    r"""Inpainting: repaint where `mask_image` is white (>= 0.5), keep the rest.

    The mask has the image's size (one mask for all images, or one per image). At every step
    the known region is replaced by the original noised to the current level; at the end the
    original pixels are pasted back outside the mask, so they are returned exactly (in latent
    space too: the merge works on the latent grid, with the mask max-pooled to it, and the
    paste on pixels, as diffusers' `apply_overlay`). `strength` < 1 starts from a noised copy
    of the image instead of pure noise. `latents`, if given, is the starting state itself.
    """

    def check_inpaint_inputs(self, strength: float, jump_length: int, jump_n_sample: int) -> None:
        check_number("strength", strength, 0, 1, low_open=True)
        check_number("jump_length", jump_length, 1, 1000, integer=True)
        check_number("jump_n_sample", jump_n_sample, 1, 100, integer=True)
        if jump_n_sample > 1 and self.sampler not in flow.FIRST_ORDER:
            raise ValueError(f"RePaint resampling (jump_n_sample > 1) needs a first-order sampler: use 'euler', not {self.sampler!r}.")

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
        self.check_inpaint_inputs(strength, jump_length, jump_n_sample)
        # 2. encode the prompts; images and masks, one per generated image
        x01 = to_unit_tensor(image, self.sample_size)
        prompt, prompt_embeds, prompt_attention_mask = broadcast_prompt(prompt, prompt_embeds, prompt_attention_mask, x01.shape[0])
        cond, uncond = self._prepare_text(prompt, negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        n_prompts = cond.hidden_states.shape[0] // num_images_per_prompt
        x01 = self._per_image(x01, n_prompts, num_images_per_prompt)
        mask = self._per_image(mask_tensors(image, mask_image, self.sample_size), n_prompts, num_images_per_prompt, "masks")
        # 3. the known region and the mask on the transformer's grid; the starting state
        known = self.encode_images(x01)
        grid_mask = F.adaptive_max_pool2d(mask, known.shape[-1]) if known.shape[-1] != mask.shape[-1] else mask
        start = min(strength_start(num_inference_steps, strength), num_inference_steps - 1)
        x = self._noised(known, self.step_sigmas(num_inference_steps)[start], generator, latents)
        # 4. denoise, merging the known region after every step
        region = KnownRegion(known, grid_mask, generator, jump_length, jump_n_sample)
        recorder = self.recorder(return_trace)
        hooks = StepHooks(after_step=region, recorder=recorder, callback=callback_on_step_end,
                          callback_inputs=callback_on_step_end_tensor_inputs, guidance_interval=guidance_interval)
        x, n_run, n_calls = self.denoise(x, self.velocity_model(cond, uncond), num_inference_steps, start, hooks)
        # 5. decode, then the exact original pixels outside the mask
        out01 = None if output_type == "latent" else mask * self.decode_to_unit(x) + (1.0 - mask) * x01
        return self._output(x, out01, output_type, recorder, n_run, num_inference_steps, n_calls, return_dict)


def mask_tensors(image: ImageInput | list, mask_image: ImageInput | list, size: int) -> torch.Tensor:
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
