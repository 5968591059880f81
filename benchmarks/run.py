"""DiT Lab benchmarks: one command, one machine, one table.

    python benchmarks/run.py                 # prints the table and writes benchmarks/README.md
    python benchmarks/run.py --quick         # fewer repeats (a smoke run)

Measures, with medians over repeated runs: pipeline latency per sampler (20 guided steps,
batch 1 and 8), the DiT forward against diffusers' PixArtTransformer2DModel and
DiTTransformer2DModel at equal size, achieved FLOP/s against this machine's GEMM peak, and
training images per second at the shipped config. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import SAMPLERS, DiTText2ImagePipeline  # noqa: E402
from pipelines.hardware import autocast_context, best_autocast_dtype, cpu_has_native_bf16, set_threads  # noqa: E402
from training.train import EMA, flow_matching_loss  # noqa: E402

WEIGHTS = ROOT / "weights" / "dit-emoji"


def median_time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def gemm_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    t = median_time(lambda: a @ b, repeats)
    return 2 * n**3 / t


def forward_flops(model, inputs: tuple) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*inputs)
    return counter.get_total_flops()


def peers(cfg: dict):
    """diffusers' own transformers at our size: same width, depth, heads, patch, tokens."""
    from diffusers import DiTTransformer2DModel, PixArtTransformer2DModel

    heads, dim = cfg["num_heads"], cfg["hidden_size"] // cfg["num_heads"]
    pixart = PixArtTransformer2DModel(
        num_attention_heads=heads, attention_head_dim=dim, in_channels=cfg["in_channels"], out_channels=cfg["in_channels"],
        num_layers=cfg["depth"], sample_size=cfg["sample_size"], patch_size=cfg["patch_size"], cross_attention_dim=cfg["hidden_size"],
        caption_channels=cfg["text_dim"], use_additional_conditions=False, norm_type="ada_norm_single",
    ).eval()
    dit = DiTTransformer2DModel(
        num_attention_heads=heads, attention_head_dim=dim, in_channels=cfg["in_channels"], out_channels=cfg["in_channels"],
        num_layers=cfg["depth"], sample_size=cfg["sample_size"], patch_size=cfg["patch_size"], num_embeds_ada_norm=1000,
    ).eval()
    return pixart, dit


def forward_rows(model, pixart, dit, cfg: dict, n: int, reps: int, rows: list, results: dict) -> None:
    """Ours against diffusers' peers at batch n, each precision the same for every model."""
    x = torch.randn(n, 3, cfg["sample_size"], cfg["sample_size"])
    t = torch.full((n,), 500.0)
    ctx = torch.randn(n, 16, cfg["text_dim"])
    mask = torch.ones(n, 16)
    labels = torch.zeros(n, dtype=torch.long)
    text = {}  # our text-side work, done once per run as the pipeline does (keyed by dtype)
    calls = {
        "DiT Lab DiTTransformer": lambda: model(x, t, ctx, mask),
        "DiT Lab DiTTransformer, text work once per run": lambda: model(x, t, text_conditioning=text.get(ctx.dtype) or
                                                                          text.setdefault(ctx.dtype, model.encode_text(ctx, mask))),
        "diffusers PixArtTransformer2DModel": lambda: pixart(x, encoder_hidden_states=ctx, timestep=t, encoder_attention_mask=mask, added_cond_kwargs={"resolution": None, "aspect_ratio": None}),
        "diffusers DiTTransformer2DModel": lambda: dit(x, timestep=t, class_labels=labels),
    }
    params = {"DiT Lab DiTTransformer": model, "DiT Lab DiTTransformer, text work once per run": model,
              "diffusers PixArtTransformer2DModel": pixart, "diffusers DiTTransformer2DModel": dit}
    modes = [("fp32", None, False)]
    if cpu_has_native_bf16():
        modes += [("bf16 autocast", torch.bfloat16, False), ("bf16 weights", None, True)]
    for label, dtype, cast in modes:
        base = None
        text.clear()  # computed anew under this mode's precision, in the warm-up call
        for name, fn in calls.items():
            if cast:  # every model (ours and the peers) and every input in bf16
                for m in params.values():
                    m.to(torch.bfloat16)
            tensors = (x, t, ctx, mask)
            if cast:
                x, ctx = x.bfloat16(), ctx.bfloat16()

            def run(fn=fn):
                with torch.no_grad(), autocast_context("cpu", dtype):
                    fn()

            sec = median_time(run, reps)
            x, t, ctx, mask = tensors
            ips = n / sec
            results[f"forward_b{n}_{label}_{name}"] = ips
            if name == "DiT Lab DiTTransformer":
                base, ratio = ips, ""
            elif name.startswith("DiT Lab"):
                ratio = f" — {ips / base:.2f}× the full forward (per denoising step, as the pipeline runs it)"
            else:
                ratio = f" — ours is {base / ips:.2f}×"
            npar = sum(p.numel() for p in params[name].parameters()) / 1e6
            rows.append((f"forward batch {n}, {label}: {name} ({npar:.1f}M params)", f"{ips:.0f} img/s{ratio}", "same width/depth/heads/patch/tokens, same inputs"))
        for m in params.values():
            m.to(torch.float32)


def cpu_description() -> str:
    """The CPU's model name and its bf16 / AMX flags, for the table's header."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), platform.processor())
    flags = [f for f in ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2") if f" {f}" in text]
    return f"{name} ({', '.join(flags) or 'no AVX-512/AMX flags'})"


def view_timings(reps: int, rows: list, results: dict) -> None:
    """What a learner waits for in the app, through the tab handlers on the shipped weights."""
    from lab import explain, flow2d, paths, race, trace
    from lab.runtime import example_images

    runs = {
        "Forward & reverse: 20-step trace, every panel": lambda: list(trace.run_trace("cat face", None, 20, 5.0, 0, "euler")),
        "Sampler race (8 steps + 4-32 step curves + reference)": lambda: race.race("cat face", 0, 8, 5.0, progress=lambda *a, **k: None),
        "A flow in 2-D (train 6 s + two flows)": lambda: flow2d.run_flow("two moons", 3.0, 30, 0),
        "Two paths to noise (10 steps)": lambda: paths.paths(str(example_images()[0]), 0, 10),
        "Attention maps": lambda: explain.attention("red heart", 0, 0.5),
    }
    for label, fn in runs.items():
        sec = median_time(fn, max(2, reps // 3), warmup=1)
        results[f"view_{label}"] = sec
        rows.append((f"view: {label}", f"{sec:.2f} s", "handler call, shipped weights"))
    frames = list(trace.run_trace("cat face", None, 20, 5.0, 0, "euler"))[-1][0]
    sec = median_time(lambda: trace.view(frames, 10), reps * 2)
    results["view_trace_slider"] = sec
    rows.append(("view: Forward & reverse slider move (all panels + plot)", f"{sec * 1000:.0f} ms", "trace.view, server side"))


def app_startup_seconds() -> float:
    import os
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env={**os.environ, "GRADIO_SERVER_PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t < 180:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                return time.perf_counter() - t
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("app.py did not start within 180 s")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "README.md")
    args = p.parse_args()
    reps = 3 if args.quick else 7
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # casting warnings about fp32-only modules these models do not have
    threads = set_threads()
    torch.manual_seed(0)
    rows: list[tuple[str, str, str]] = []
    results: dict = {"threads": threads, "cpu_native_bf16": cpu_has_native_bf16(), "torch": torch.__version__, "machine": platform.processor() or platform.machine()}
    app_dtype = best_autocast_dtype("cpu")

    # ---- GEMM peak
    peak32 = gemm_peak(torch.float32, repeats=reps)
    rows.append(("GEMM peak fp32 (2048², 2 threads)", f"{peak32 / 1e9:.0f} GFLOP/s", "torch.matmul"))
    peak16 = gemm_peak(torch.bfloat16, repeats=reps) if cpu_has_native_bf16() else None
    if peak16:
        rows.append(("GEMM peak bf16 (2048²)", f"{peak16 / 1e9:.0f} GFLOP/s", "torch.matmul"))
    results.update(gemm_fp32=peak32, gemm_bf16=peak16)

    # ---- pipeline latency per sampler
    pipe = DiTText2ImagePipeline.from_pretrained(WEIGHTS, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    app_precision = pipe.set_precision("auto")  # what the app uses
    cfg = dict(pipe.transformer.config)
    for name in SAMPLERS:
        pipe.set_sampler(name)
        for batch in (1, 8):
            t = median_time(lambda: pipe("red apple", num_inference_steps=20, guidance_scale=3.0, num_images_per_prompt=batch,
                                         generator=torch.Generator().manual_seed(0), output_type="pt"), max(3, reps // 2), warmup=1)
            results[f"latency_{name}_b{batch}"] = t
            rows.append((f"20 guided steps, {name}, batch {batch} ({app_precision})", f"{t:.3f} s ({t / batch:.3f} s/image)", "pipeline call, prompt cached"))

    # ---- forward: ours vs diffusers peers, same inputs
    model = pipe.transformer.to(torch.float32).eval()  # timing only: bf16-rounded weights are fine
    pixart, dit = peers(cfg)
    for n in (2, 16):  # batch 2 = one guided image; 16 = a batch of 8 guided images
        forward_rows(model, pixart, dit, cfg, n, reps, rows, results)
    n = 16
    x = torch.randn(n, 3, cfg["sample_size"], cfg["sample_size"])
    t = torch.full((n,), 500.0)
    ctx = torch.randn(n, 16, cfg["text_dim"])
    mask = torch.ones(n, 16)

    # ---- achieved FLOP/s of our forward
    flops = forward_flops(model, (x, t, ctx, mask))
    for label, peak in (("fp32", peak32), ("bf16 weights", peak16)):
        if peak is None:
            continue
        ips = results[f"forward_b16_{label}_DiT Lab DiTTransformer"]
        achieved = flops / n * ips
        results[f"achieved_{label}"] = achieved
        rows.append((f"DiT forward achieved, {label}", f"{achieved / 1e9:.0f} GFLOP/s = {100 * achieved / peak:.0f}% of GEMM peak", f"{flops / n / 1e9:.2f} GFLOP/image (FlopCounterMode)"))

    # ---- training images/s at the shipped config
    train_model = type(model)(**{k: v for k, v in cfg.items() if not k.startswith("_")}).train()
    opt = torch.optim.AdamW(train_model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    ema = EMA(train_model, 0.999)
    bs = 64
    x0 = torch.rand(bs, 3, cfg["sample_size"], cfg["sample_size"]) * 2 - 1
    states, masks = torch.randn(bs, 16, cfg["text_dim"]), torch.ones(bs, 16)
    train_dtype = app_dtype

    def step():
        loss = flow_matching_loss(train_model, x0, states, masks, lambda: autocast_context("cpu", train_dtype))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train_model.parameters(), 1.0)
        opt.step()
        ema.update(train_model, 1000)

    sec = median_time(step, reps * 2, warmup=3)
    results["train_img_per_s"] = bs / sec
    rows.append((f"training, batch {bs} ({'bf16 autocast' if train_dtype else 'fp32'})", f"{bs / sec:.0f} img/s", "loss + backward + AdamW + clip + EMA"))

    if not args.quick:  # a compiled training step: about a minute of compilation first
        compiled = torch.compile(train_model)

        def cstep():
            loss = flow_matching_loss(compiled, x0, states, masks, lambda: autocast_context("cpu", train_dtype))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        sec = median_time(cstep, reps * 2, warmup=3)
        results["train_img_per_s_compiled"] = bs / sec
        rows.append((f"training, batch {bs}, torch.compile'd forward", f"{bs / sec:.0f} img/s", "after compilation; `--compile` in training.train"))

    view_timings(reps, rows, results)

    # ---- app start-up: `python app.py` until the page answers
    start = app_startup_seconds()
    results["app_start_s"] = start
    rows.append(("app start (python app.py → page served)", f"{start:.1f} s", "imports, model + text encoder load, UI build"))

    table = "| measurement | result | how |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    results["cpu"] = cpu_description()
    header = (f"CPU: {results['cpu']}, {threads} threads, torch {torch.__version__}, native bf16: {results['cpu_native_bf16']}. "
              f"Medians of {reps} runs (latency: {max(3, reps // 2)}), after warm-up.")
    print(header)
    print(table)
    args.out.write_text(
        "# Benchmarks\n\nProduced by `python benchmarks/run.py` (this file is rewritten by it).\n\n" + header + "\n\n" + table + "\n\n```json\n" + json.dumps(results, indent=1, default=float) + "\n```\n"
    )


if __name__ == "__main__":
    main()
