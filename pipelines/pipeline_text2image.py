"""Text -> image with our DiT and classifier-free guidance, in pixel or latent space."""

from __future__ import annotations

from typing import Callable

import torch
from diffusers.utils.torch_utils import randn_tensor

from . import schedulers as flow
from .checks import as_prompt_list
from .pipeline_base import DEFAULT_STEPS, DiTPipelineBase, DiTPipelineOutput, StepHooks


class DiTText2ImagePipeline(DiTPipelineBase):
    r"""Text -> image (32x32 pixels, or 64x64 through the autoencoder of a latent model).

    Returns `DiTPipelineOutput`: `images` (PIL list, numpy (N, H, W, 3) in [0, 1], torch
    (N, 3, H, W) in [0, 1], or 'latent': the final model-space tensor, unclipped), and `trace`
    (one `TraceStep` per step) when `return_trace=True`. `guidance_interval=(lo, hi)` applies
    guidance only at noise levels lo <= sigma <= hi; the other steps run one forward pass.
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
        cond, uncond = self._prepare_text(as_prompt_list(prompt), negative_prompt, num_images_per_prompt, prompt_embeds,
                                          negative_prompt_embeds, prompt_attention_mask, negative_prompt_attention_mask)
        # 3. the starting noise, in the transformer's space
        cfg = self.transformer.config
        shape = (cond.hidden_states.shape[0], cfg.in_channels, cfg.sample_size, cfg.sample_size)
        if latents is None:
            latents = randn_tensor(shape, generator=generator, device=self._execution_device, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}.")
        # 4. denoise
        recorder = self.recorder(return_trace)
        hooks = StepHooks(recorder=recorder, callback=callback_on_step_end, callback_inputs=callback_on_step_end_tensor_inputs,
                          guidance_interval=guidance_interval)
        x, n_run, n_calls = self.denoise(latents.to(self._execution_device, torch.float32), self.velocity_model(cond, uncond),
                                         num_inference_steps, hooks=hooks)
        # 5. decode and post-process
        x01 = None if output_type == "latent" else self.decode_to_unit(x)
        return self._output(x, x01, output_type, recorder, n_run, num_inference_steps, n_calls, return_dict)
