"""DiT Lab: a small text-conditioned Diffusion Transformer and diffusers-style pipelines."""

import os
from pathlib import Path

# The shipped models, found relative to this package (not the working directory);
# DITLAB_WEIGHTS points elsewhere.
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_WEIGHTS = Path(os.environ.get("DITLAB_WEIGHTS", WEIGHTS_DIR / "dit-emoji"))
LATENT_WEIGHTS = WEIGHTS_DIR / "dit-emoji-64"

from .pipeline_base import DEFAULT_STEPS, DiTPipelineOutput, ForwardProcessOutput  # noqa: E402
from .pipeline_img2img import DiTImg2ImgPipeline  # noqa: E402
from .pipeline_inpaint import DiTInpaintPipeline  # noqa: E402
from .pipeline_text2image import DiTText2ImagePipeline  # noqa: E402
from .schedulers import DEFAULT_GUIDANCE, DEFAULT_SAMPLER, SAMPLERS, make_scheduler  # noqa: E402
from .trace import TraceStep  # noqa: E402
from .transformer_dit import DiTTransformer  # noqa: E402

__all__ = [
    "DEFAULT_WEIGHTS",
    "LATENT_WEIGHTS",
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
