"""DiT Lab: a small text-conditioned Diffusion Transformer and diffusers-style pipelines."""

from .pipeline_dit import (
    DiTImg2ImgPipeline,
    DiTInpaintPipeline,
    DiTPipelineOutput,
    DiTText2ImagePipeline,
    ForwardProcessOutput,
    TraceStep,
)
from .schedulers import DEFAULT_SAMPLER, SAMPLERS, make_scheduler
from .transformer_dit import DiTTransformer

__all__ = [
    "DiTTransformer",
    "DiTText2ImagePipeline",
    "DiTImg2ImgPipeline",
    "DiTInpaintPipeline",
    "DiTPipelineOutput",
    "ForwardProcessOutput",
    "TraceStep",
    "SAMPLERS",
    "DEFAULT_SAMPLER",
    "make_scheduler",
]
