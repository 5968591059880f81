import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tests compare images across runs bit for bit, so the app under test stays eager; the
# compiled path has its own tests (test_compiled.py).
os.environ.setdefault("DITLAB_COMPILE", "0")
torch.set_num_threads(int(os.environ.get("DITLAB_THREADS", len(os.sched_getaffinity(0)))))

TINY = dict(sample_size=32, patch_size=4, hidden_size=32, depth=2, num_heads=2)


@pytest.fixture(scope="session")
def text_pair():
    from pipelines.text_encoder import load_text_encoder

    return load_text_encoder()


def random_transformer(config: dict, seed: int = 0, dtype: torch.dtype = torch.float32):
    """A DiT with random, non-zero weights everywhere: a zero-initialised model would hide bugs."""
    from pipelines import DiTTransformer

    torch.manual_seed(seed)
    model = DiTTransformer(**config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.to(dtype)


@pytest.fixture(scope="session")
def tiny_transformer():
    return random_transformer(TINY)


@pytest.fixture()
def make_pipe(tiny_transformer, text_pair):
    from pipelines import make_scheduler

    def _make(cls=None, sampler: str = "euler"):
        from pipelines import DiTText2ImagePipeline

        cls = cls or DiTText2ImagePipeline
        # tokenizer/text_encoder None: the packaged encoder, loaded on the first prompt (the usual path)
        pipe = cls(transformer=tiny_transformer, scheduler=make_scheduler(sampler))
        pipe.set_progress_bar_config(disable=True)
        return pipe

    return _make


@pytest.fixture(scope="session")
def app_server():
    from .app_server import AppServer

    server = AppServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tiny_runtime(tmp_path_factory, tiny_transformer, tiny_vae, tiny_latent_transformer):
    """The app's runtimes serving tiny random models instead of the shipped weights: a pixel
    model as the served one, a latent one (with the tiny autoencoder) beside it, saved with a
    timestep shift like the shipped latent model's, so every view must walk its shifted grid."""
    from pipelines import DiTText2ImagePipeline, make_scheduler
    from lab.runtime import Runtime, use_runtime

    path = tmp_path_factory.mktemp("weights")
    DiTText2ImagePipeline(tiny_transformer, make_scheduler("euler")).save_pretrained(path)
    latent = tmp_path_factory.mktemp("weights64")
    DiTText2ImagePipeline(tiny_latent_transformer, make_scheduler("euler", TINY_LATENT_SHIFT), vae=tiny_vae).save_pretrained(latent)
    use_runtime(Runtime(path), Runtime(latent, compile=False))
    yield
    use_runtime(None)


TINY_LATENT_SHIFT = 3.0
TINY_LATENT = dict(sample_size=16, in_channels=4, patch_size=2, hidden_size=32, depth=2, num_heads=2)


@pytest.fixture(scope="session")
def tiny_vae():
    """A random 3-level AutoencoderKL (f = 4, 4 channels) with scaling factors set."""
    from training.autoencoder import make_vae

    torch.manual_seed(1)
    vae = make_vae((8, 16, 16)).eval()
    vae.register_to_config(shift_factor=0.1, scaling_factor=1.5)
    return vae


@pytest.fixture(scope="session")
def tiny_latent_transformer():
    return random_transformer(TINY_LATENT, seed=2)


class OracleTransformer(torch.nn.Module):
    """Returns the exact velocity towards one known x0: v = (x_t - x0) / sigma. With it, every
    sampler must land on x0 (rectified flow's paths to a single point are straight lines)."""

    def __init__(self, target: torch.Tensor) -> None:
        from diffusers.configuration_utils import FrozenDict

        super().__init__()
        self.register_buffer("target", target)
        self.config = FrozenDict(sample_size=target.shape[-1], in_channels=target.shape[1])
        self.calls = 0

    @property
    def dtype(self):
        return self.target.dtype

    @property
    def device(self):
        return self.target.device

    def forward(self, x, t, *args, **kwargs):
        from pipelines.transformer_dit import DiTTransformerOutput

        self.calls += 1
        sigma = (t.float() / 1000.0).clamp(min=1e-6).view(-1, 1, 1, 1)
        return DiTTransformerOutput(sample=(x - self.target.expand_as(x)) / sigma)
