"""Quality gates on the shipped weights (fp32 path), judged by the shipped judge on the gate set
(64 names and 64 held-out paraphrases; settings were chosen on the disjoint tuning set)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pipelines import DiTText2ImagePipeline
from pipelines.schedulers import DEFAULT_SAMPLER
from training.data import EmojiDataset
from training.evaluate import (LATENT_GATE_IMAGES_PER_CAPTION, evaluate, grid_array, latent_gate_passes, prompt_grid,
                               reference_gate)

pytestmark = pytest.mark.slow
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "dit-emoji"
# The shipped model's measured values (model card), less a margin for floating-point
# differences between machines: a worse model fails.
NAME_TOP5_VS_CEILING = 0.90  # measured 0.951 (target 0.85)
PARAPHRASE_TOP5_VS_CEILING = 0.60  # measured 0.641; also the model issue's target


@pytest.fixture(scope="module")
def pipe():
    p = DiTText2ImagePipeline.from_pretrained(WEIGHTS, use_safetensors=True)
    p.set_progress_bar_config(disable=True)
    assert p.autocast_dtype is None  # the gate runs the fp32 path
    return p


@pytest.fixture(scope="module")
def gate(pipe):
    return evaluate(pipe, EmojiDataset.load(), images_per_caption=2, steps=20)  # default sampler and guidance


def test_name_prompt_accuracy(gate):
    metrics, _, captions = gate
    assert len(captions) == 64 and metrics["real_top5"] > 0.5 and metrics["sampler"] == DEFAULT_SAMPLER
    assert metrics["top5_vs_ceiling"] >= NAME_TOP5_VS_CEILING, metrics


def test_paraphrase_prompt_accuracy(gate):
    metrics, _, _ = gate
    assert metrics["paraphrases"] == 64 and metrics["paraphrase_real_top5"] > 0.5
    assert metrics["paraphrase_top5_vs_ceiling"] >= PARAPHRASE_TOP5_VS_CEILING, metrics


def test_outputs_finite_and_in_range(gate):
    _, images, _ = gate
    assert torch.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
    assert images.std() > 0.05  # not a blank page


def test_fixed_seed_grid_reproduces(pipe):
    ref = np.asarray(Image.open(WEIGHTS / "grid.png").convert("RGB"))
    scale = ref.shape[0] // pipe.sample_size
    ref = ref[::scale, ::scale]
    now = grid_array(prompt_grid(pipe))
    assert now.shape == ref.shape
    diff = np.abs(now.astype(int) - ref.astype(int))
    # same maths, same seeds: only floating-point summation order may differ between machines
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 8, (diff.mean(), diff.max())


LATENT = WEIGHTS.parent / "dit-emoji-64"
VAE_PSNR = 30.0  # dB, mean over the held-out gate emoji at 64 px (issue target)
VAE_JUDGE_LOSS = 0.02  # the judge names reconstructions within 2 points of the originals


def test_autoencoder_reconstruction_gate():
    """Our autoencoder on emoji it never trained on: the round trip keeps the image (PSNR) and
    what it shows (the judge names reconstructions as well as the originals, at 32 px)."""
    from diffusers import AutoencoderKL

    from training.autoencoder import gate_figures, split

    data = EmojiDataset.load(resolution=64)
    gate = split(data)["gate"]
    vae = AutoencoderKL.from_pretrained(LATENT / "vae", use_safetensors=True).eval()
    figures, _, _ = gate_figures(vae, data, gate)
    assert figures["gate_emoji"] == 200 and figures["judge_top5_originals"] > 0.9
    assert figures["psnr_mean"] >= VAE_PSNR, figures
    assert figures["judge_top5_originals"] - figures["judge_top5_reconstructions"] <= VAE_JUDGE_LOSS, figures


@pytest.fixture(scope="module")
def latent_gate():
    """The latent model on the gate set, with the settings chosen on the tuning set (gate.json), which
    its folder's scheduler must hold: from_pretrained and the app sample as the gate did."""
    import json

    from pipelines.schedulers import scheduler_shift

    chosen = json.loads((LATENT / "evaluation" / "gate.json").read_text())
    p = DiTText2ImagePipeline.from_pretrained(LATENT, use_safetensors=True)
    assert (p.sampler, scheduler_shift(p.scheduler)) == (chosen["sampler"], chosen.get("shift", 1.0))
    p.set_progress_bar_config(disable=True)
    return evaluate(p, EmojiDataset.load(), images_per_caption=chosen["images_per_caption"], steps=chosen["steps"],
                    guidance=chosen["guidance_scale"])


def test_latent_model_passes_its_gate(latent_gate):
    """Its issue's gate, measured afresh from the shipped weights: name top-5 at least the 32-px model's
    and at least 90 % of ceiling, paraphrase top-5 at least the 32-px model's, both read with 8 images per
    prompt (the 32-px model's reading: its evaluation/gate_8images.json). Measured here after phase 11:
    names 88.9 % (93.2 % of ceiling) against 88.3 %, paraphrases 76.6 % against 62.1 %."""
    metrics, images, captions = latent_gate
    assert len(captions) == 64 and torch.isfinite(images).all() and metrics["images_per_caption"] == LATENT_GATE_IMAGES_PER_CAPTION
    assert latent_gate_passes(metrics, reference_gate(LATENT_GATE_IMAGES_PER_CAPTION)), metrics
