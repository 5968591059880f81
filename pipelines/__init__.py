"""DiT Lab: a small text-conditioned Diffusion Transformer and diffusers-style pipelines."""

import os
from pathlib import Path

# The shipped model, found relative to this package (not the working directory);
# DITLAB_WEIGHTS points elsewhere.
DEFAULT_WEIGHTS = Path(os.environ.get("DITLAB_WEIGHTS", Path(__file__).resolve().parent.parent / "weights" / "dit-emoji"))

from .pipeline_dit import (  # noqa: E402
    DEFAULT_STEPS,
    DiTImg2ImgPipeline,
    DiTInpaintPipeline,
    DiTPipelineOutput,
    DiTText2ImagePipeline,
    ForwardProcessOutput,
    TraceStep,
)
from .schedulers import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, SAMPLERS, make_scheduler  # noqa: E402
from .transformer_dit import DiTTransformer  # noqa: E402

__all__ = [
    "DEFAULT_WEIGHTS",
    "DEFAULT_STEPS",
    "DiTTransformer",
    "DiTText2ImagePipeline",
    "DiTImg2ImgPipeline",
    "DiTInpaintPipeline",
    "DiTPipelineOutput",
    "ForwardProcessOutput",
    "TraceStep",
    "SAMPLERS",
    "DEFAULT_SAMPLER",
    "DEFAULT_GUIDANCE",
    "make_scheduler",
]
