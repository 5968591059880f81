"""Denoising / SDEdit (img2img): noise an image to a level, then run the reverse process from there."""

from __future__ import annotations

from typing import Callable

import torch

from .checks import as_prompt_list, check_number
from .image_utils import ImageInput, to_unit_tensor
from .pipeline_base import DEFAULT_STEPS, DiTPipelineBase, DiTPipelineOutput, StepHooks, strength_start


class DiTImg2ImgPipeline(DiTPipelineBase):
    r"""Denoising / SDEdit: noise an image to a level, then run the reverse process from there.

    `strength` in [0, 1] is the fraction of the `num_inference_steps` schedule that runs
    (0 returns the input unchanged, 1 starts from pure noise). Or give `sigma`, the noise
    level directly; with `image_is_noisy=True` the image is taken as already noised to
    `sigma` (x_t = (1 - sigma) x0 + sigma eps) and no noise is added (pixel models only: a
    noisy picture is not a noisy latent). The run starts at the scheduled step whose sigma is
    nearest the level asked for; `num_steps_run` says how many ran. `latents`, if given, is
    the noisy starting state itself.
    """

    def check_image_inputs(self, strength: float | None, sigma: float | None, image_is_noisy: bool) -> None:
        if sigma is not None:
            check_number("sigma", sigma, 0, 1)
        else:
            check_number("strength", strength, 0, 1)
        if image_is_noisy and sigma is None:
            raise ValueError("image_is_noisy=True needs sigma, the noise level the image already has.")
        if image_is_noisy and self.vae is not None:
            raise ValueError("image_is_noisy=True needs a pixel-space model: a latent model noises latents, not pictures.")

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
        self.check_image_inputs(strength, sigma, image_is_noisy)
        # 2. encode the prompts (one for all images, or one per image), one image per generated image
        x01 = to_unit_tensor(image, self.sample_size)
        prompt, prompt_embeds, prompt_attention_mask = broadcast_prompt(prompt, prompt_embeds, prompt_attention_mask, x01.shape[0])
        cond, uncond = self._prepare_text(prompt, negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        x01 = self._per_image(x01, cond.hidden_states.shape[0] // num_images_per_prompt, num_images_per_prompt)
        # 3. encode the image (a latent model: into its latent) and noise it to the start
        start, start_sigma = self.start_step(num_inference_steps, strength, sigma)
        x0 = self.encode_images(x01)
        recorder = self.recorder(return_trace)
        if start >= num_inference_steps:
            self._num_timesteps = 0
            return self._output(x0, x01, output_type, recorder, 0, num_inference_steps, 0, return_dict)
        x = x0 if image_is_noisy and latents is None else self._noised(x0, torch.tensor(start_sigma), generator, latents)
        # 4. denoise
        hooks = StepHooks(recorder=recorder, callback=callback_on_step_end, callback_inputs=callback_on_step_end_tensor_inputs,
                          guidance_interval=guidance_interval)
        x, n_run, n_calls = self.denoise(x, self.velocity_model(cond, uncond), num_inference_steps, start, hooks)
        # 5. decode and post-process
        out01 = None if output_type == "latent" else self.decode_to_unit(x)
        return self._output(x, out01, output_type, recorder, n_run, num_inference_steps, n_calls, return_dict)

    def start_step(self, num_inference_steps: int, strength: float | None = 0.5, sigma: float | None = None) -> tuple[int, float]:
        """(first step to run, its noise level): the scheduled step nearest `sigma` if given
        (sigma = 0, or nearer 0 than any step, runs nothing: returns num_inference_steps), else
        the last `strength` fraction of the schedule."""
        grid = torch.cat([self.step_sigmas(num_inference_steps), torch.zeros(1)])
        start = int((grid - sigma).abs().argmin()) if sigma is not None else strength_start(num_inference_steps, strength)
        return start, float(grid[start])


def broadcast_prompt(prompt, prompt_embeds, mask, n_images: int):
    """One prompt (or one row of embeddings) for several images: repeated, one per image."""
    prompts = as_prompt_list(prompt)
    if prompts is not None and len(prompts) == 1 and n_images > 1:
        prompts = prompts * n_images
    if prompt_embeds is not None and prompt_embeds.shape[0] == 1 and n_images > 1:
        prompt_embeds = prompt_embeds.expand(n_images, *prompt_embeds.shape[1:])
        mask = None if mask is None else mask.expand(n_images, *mask.shape[1:])
    return prompts, prompt_embeds, mask
