"""The denoising step compiled with torch.compile, without making anyone wait for it.

Compiling the DiT's step takes seconds to a minute on 2 CPU cores (4-15 s measured on an idle
machine, far longer beside other work) and makes each step faster afterwards
(benchmarks/README.md). An app cannot spend that at start-up, so
`compile_in_background` compiles in a daemon thread while requests run the eager model,
checks the compiled graph against eager on the same inputs, and only then registers it
in `transformer.compiled_steps`, which `DiTTransformer.forward` consults per call. Calls
of any other batch size or dtype stay eager, so no request ever triggers a compilation;
any failure (an unsupported platform, a compiler error, a mismatch) leaves eager in place.

Inductor's on-disk caches go to a per-user folder keyed by torch version and CPU, so a
second start on the same machine reuses the first one's work; `DITLAB_COMPILE=0` turns all
of this off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import threading
from pathlib import Path

import torch

from .transformer_dit import DiTTransformer

logger = logging.getLogger(__name__)

# Compiled and eager bf16 outputs differ by rounding only: relative RMS error under 2%
# (measured about 0.5% on the shipped weights). Anything larger means a wrong graph.
AGREEMENT_RTOL = 0.02
# The compiling thread yields the cores to start-up and to requests (nice 10: a quarter of a
# default-priority thread's share when both want a core)
COMPILE_NICENESS = 10


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """RMS of the difference over RMS of the reference, in fp32."""
    got, want = got.float(), want.float()
    return ((got - want).pow(2).mean().sqrt() / want.pow(2).mean().sqrt().clamp(min=1e-12)).item()


def cache_dir() -> Path:
    """~/.cache/dit-lab/inductor-<torch>-<cpu>: caches never mix torch versions or CPUs."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith(("model name", "flags")))
    except (OSError, StopIteration):
        pass
    key = hashlib.sha1(f"{torch.__version__}|{cpu}".encode()).hexdigest()[:12]
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "dit-lab" / f"inductor-{torch.__version__.replace('+', '_')}-{key}"


def example_inputs(model: DiTTransformer, batch: int, dtype: torch.dtype) -> tuple:
    """Random inputs of the denoising step's shapes (one text of half the maximum length)."""
    cfg = model.config
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=g).to(dtype)
    t = torch.linspace(100.0, 900.0, batch)
    ctx = torch.randn(batch, cfg.max_text_length, cfg.text_dim, generator=g).to(dtype)
    mask = torch.ones(batch, cfg.max_text_length)
    mask[:, cfg.max_text_length // 2:] = 0
    with torch.no_grad():
        return x, t, model.encode_text(ctx, mask)


def compile_step(model: DiTTransformer, batch: int, dtype: torch.dtype) -> float:
    """Compile `model.velocity` for one batch size and dtype, check it against eager, and
    register it. Returns the relative error; raises if compiled and eager disagree."""
    compiled = torch.compile(model.velocity, dynamic=False)
    inputs = example_inputs(model, batch, dtype)
    with torch.no_grad():
        got, _ = compiled(*inputs)
        want, _ = model.velocity(*inputs)
    err = relative_error(got, want)
    if not err <= AGREEMENT_RTOL:
        raise RuntimeError(f"compiled step disagrees with eager: relative error {err:.3g}")
    model.compiled_steps[(batch, dtype)] = compiled
    return err


def compile_in_background(model: DiTTransformer, batch_sizes: tuple[int, ...] = (2,),
                          dtype: torch.dtype | None = None) -> threading.Thread | None:
    """Start compiling the step for each batch size (2 = one image with guidance) in a
    daemon thread; returns it, or None when DITLAB_COMPILE=0."""
    if os.environ.get("DITLAB_COMPILE", "1") == "0":
        return None
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir()))
    dtype = dtype or model.dtype

    def work() -> None:
        try:  # below the requests' priority, with the compiler processes it forks (Linux: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPILE_NICENESS)
        except (AttributeError, OSError):
            pass
        for batch in batch_sizes:
            try:
                err = compile_step(model, batch, dtype)
                logger.info("compiled denoising step for batch %d (%s), relative error %.2g", batch, dtype, err)
            except Exception as exc:  # any failure: that batch size stays eager
                logger.warning("torch.compile unavailable for batch %d, staying eager: %s", batch, exc)

    thread = threading.Thread(target=work, name="dit-compile", daemon=True)
    thread.start()
    return thread
