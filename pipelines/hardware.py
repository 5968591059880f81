"""What this machine can do fast: bf16 on CPUs with native support, threads = cores."""

from __future__ import annotations

import contextlib
import functools
import os

import torch


@functools.lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True where the CPU has AVX-512 BF16 or AMX-BF16. Elsewhere bf16 is emulated and far
    slower than fp32, so the caller must fall back to fp32."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def best_autocast_dtype(device: torch.device | str = "cpu") -> torch.dtype | None:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def autocast_context(device: torch.device | str, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def set_threads() -> int:
    """One intra-op thread per available core (sched_getaffinity honours container limits),
    unless DITLAB_THREADS says otherwise: two jobs that each take every core oversubscribe
    them, and OpenMP's spinning threads then make both several times slower."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    n = int(os.environ.get("DITLAB_THREADS", n))
    torch.set_num_threads(n)
    return n
