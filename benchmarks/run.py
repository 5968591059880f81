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
import functools
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import DEFAULT_SAMPLER, SAMPLERS, DiTText2ImagePipeline  # noqa: E402
from pipelines import fast  # noqa: E402
from pipelines.fast import ONEDNN_LINEAR, compile_step  # noqa: E402
from pipelines.hardware import autocast_context, best_autocast_dtype, cpu_has_native_bf16, set_threads  # noqa: E402
from pipelines.training_utils import EMA, flow_matching_loss  # noqa: E402

WEIGHTS = ROOT / "weights" / "dit-emoji"
GUIDANCE_INTERVAL = (0.2, 0.9)  # an interval of the kind the tuning sweep tries, for its latency only


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
    """The faster of torch.matmul (a BLAS library) and oneDNN's linear, which the DiT uses: on
    AMD CPUs the BLAS path can be far slower in fp32, and a peak must be the best available."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    best = median_time(lambda: a @ b, repeats)
    if ONEDNN_LINEAR:
        best = min(best, median_time(lambda: torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [], ""), repeats))
    return 2 * n**3 / best


def forward_flops(model, inputs: tuple) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    # the plain forward, whose FLOPs the counter knows (it does not count oneDNN's fused calls)
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


def interleaved_times(calls: dict, rounds: int, autocast: torch.dtype | None = None, grad: bool = False) -> dict[str, float]:
    """Median seconds per call, timing the calls in turn in every round, so that a machine
    whose speed drifts affects every model alike (the ratios are what the table is for)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    with torch.set_grad_enabled(grad), autocast_context("cpu", autocast):
        for fn in calls.values():  # warm-up; a compiled call compiles here
            for _ in range(3):
                fn()
        order = random.Random(0)
        for _ in range(rounds):
            # a new order every round: identical models measured differently depending on which
            # model ran just before them (caches), which a fixed order charges to one model only
            for name in order.sample(list(calls), len(calls)):
                t = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def with_steps(transformer, graphs: dict, fn):
    """`fn` to run with exactly these compiled steps in place ({} = eager), for timing in turn."""
    def run():
        fast.restore_compiled(transformer, graphs)
        fn()
    return run


def forward_rows(model, pixart, dit, cfg: dict, n: int, reps: int, rows: list, results: dict) -> None:
    """Ours against diffusers' peers at batch n. Every model gets the same treatment in each
    mode: the same precision (fp32, bf16 autocast, bf16 weights) and, in the last mode, the
    same torch.compile. "Per step" is our step as the pipeline runs it (`fast.denoising_step`:
    the text-side work done once per run); "full" is the plain model's forward, which recomputes
    it at every call, as the peers do."""
    x = torch.randn(n, 3, cfg["sample_size"], cfg["sample_size"])
    t = torch.full((n,), 500.0)
    ctx = torch.randn(n, 16, cfg["text_dim"])
    mask = torch.ones(n, 16)
    labels = torch.zeros(n, dtype=torch.long)
    added = {"resolution": None, "aspect_ratio": None}
    modes = [("fp32", torch.float32, None, False)]
    if cpu_has_native_bf16():
        modes += [("bf16 autocast", torch.float32, torch.bfloat16, False), ("bf16 weights", torch.bfloat16, None, False),
                  ("bf16 weights, torch.compile", torch.bfloat16, None, True)]
    for label, wdtype, autocast, compiled in modes:
        for m in (model, pixart, dit):
            m.to(wdtype)
        xi, ci = x.to(wdtype), ctx.to(wdtype)
        wrap = (lambda f: torch.compile(f, dynamic=False)) if compiled else (lambda f: f)
        ours_full, px, dt = wrap(model), wrap(pixart), wrap(dit)
        if compiled:  # the graph the app compiles: the fast step's plain-op form
            with torch.no_grad():
                work = fast.prepare(model, ci, mask)
            graph = wrap(functools.partial(fast.fast_velocity, model, fused=False))
            ours_step = lambda: graph(work, xi, t)  # noqa: E731
        else:
            ours_step = functools.partial(fast.denoising_step(model, ci, mask), xi, t)
        calls = {
            "DiT Lab DiTTransformer, per step": (model, ours_step),
            "DiT Lab DiTTransformer, full": (model, lambda: ours_full(xi, t, ci, mask)),
            "diffusers PixArtTransformer2DModel": (pixart, lambda: px(xi, encoder_hidden_states=ci, timestep=t, encoder_attention_mask=mask, added_cond_kwargs=added)),
            "diffusers DiTTransformer2DModel": (dit, lambda: dt(xi, timestep=t, class_labels=labels)),
        }
        secs = interleaved_times({name: fn for name, (_, fn) in calls.items()}, 3 * reps, autocast)
        ips = {name: n / sec for name, sec in secs.items()}
        for name in calls:
            results[f"forward_b{n}_{label}_{name}"] = ips[name]
        step, full = ips["DiT Lab DiTTransformer, per step"], ips["DiT Lab DiTTransformer, full"]
        for name, (m, _) in calls.items():
            npar = sum(p.numel() for p in m.parameters()) / 1e6
            ratio = "" if name.startswith("DiT Lab") else f" — ours is {step / ips[name]:.2f}× per step, {full / ips[name]:.2f}× full"
            rows.append((f"forward batch {n}, {label}: {name} ({npar:.1f}M params)", f"{ips[name]:.0f} img/s{ratio}",
                         "same width/depth/heads/patch/tokens, same inputs, same treatment"))
    for m in (model, pixart, dit):
        m.to(torch.float32)


def decode_rows(reps: int, rows: list, results: dict) -> None:
    """The latent model's extra cost: the autoencoder's full decode and the linear live preview,
    at batch 1 and 8, beside one fast DiT step of the latent model's shape (64 tokens, batch 2)."""
    from diffusers import AutoencoderKL

    from pipelines import DiTTransformer, LATENT_WEIGHTS
    from pipelines.latents import LatentSpace

    if not (LATENT_WEIGHTS / "vae" / "config.json").exists():
        return
    space = LatentSpace(AutoencoderKL.from_pretrained(LATENT_WEIGHTS / "vae", use_safetensors=True).eval())
    dit = DiTTransformer(sample_size=16, in_channels=4, patch_size=2).eval().to(torch.bfloat16 if cpu_has_native_bf16() else torch.float32)
    ctx, mask = torch.randn(2, 16, 384).to(dit.dtype), torch.ones(2, 16)
    x, t = torch.randn(2, 4, 16, 16).to(dit.dtype), torch.full((2,), 500.0)
    with torch.no_grad():
        step = fast.denoising_step(dit, ctx, mask)
        calls = {"DiT step (latent shape, batch 2 = one guided image)": lambda: step(x, t)}
        for n in (1, 8):
            z = torch.randn(n, 4, 16, 16)
            calls[f"vae decode, batch {n}"] = functools.partial(space.decode, z)
            calls[f"linear preview, batch {n}"] = functools.partial(space.preview, z)
        space.preview(torch.zeros(1, 4, 16, 16))  # fits the preview map once, as the first run would
        secs = interleaved_times(calls, 3 * reps)
    for name, sec in secs.items():
        results[f"latent_{name}"] = sec
        rows.append((f"latent model: {name}", f"{sec * 1000:.1f} ms", "fp32 autoencoder; interleaved with the DiT step"))


def space_rows(reps: int, rows: list, results: dict) -> None:
    """Issue 22's bar: 20 guided steps of the 64-px latent model, its decode included, against
    the 32-px pixel model, both shipped pipelines at the app's precision, timed in turn in one
    run; and each with its trace (every step's x-hat-0, decoded for the latent model)."""
    from pipelines import LATENT_WEIGHTS

    if not (LATENT_WEIGHTS / "model_index.json").exists():
        return
    pipes = {}
    for name, path in (("pixel 32 px", WEIGHTS), ("latent 64 px", LATENT_WEIGHTS)):
        pipe = DiTText2ImagePipeline.from_pretrained(path, use_safetensors=True)
        pipe.set_progress_bar_config(disable=True)
        precision = pipe.set_precision("auto")
        pipe.set_sampler(DEFAULT_SAMPLER)
        pipes[name] = pipe
    def call(pipe, trace):
        return lambda: pipe("red apple", num_inference_steps=20, guidance_scale=3.0, generator=torch.Generator().manual_seed(0),
                            output_type="pt", return_trace=trace)
    calls = {f"{name}{' + trace' * trace}": call(pipe, trace) for name, pipe in pipes.items() for trace in (False, True)}
    with torch.no_grad():
        secs = interleaved_times(calls, 2 * reps)
    for name, sec in secs.items():
        results[f"space_{name}"] = sec
        rows.append((f"20 guided steps, {DEFAULT_SAMPLER}, {name} ({precision})", f"{sec:.3f} s",
                     "pipeline call incl. the latent model's decode; interleaved with the other model"))
    ratio = secs["latent 64 px"] / secs["pixel 32 px"]
    results["space_ratio"] = ratio
    rows.append(("latent 64 px / pixel 32 px, 20 guided steps", f"{ratio:.2f}×", "same run, timed in turn (target ≤ 1.5×)"))
    trace_rows(reps, rows, results)


def trace_rows(reps: int, rows: list, results: dict) -> None:
    """The Forward & reverse tab on each model, through its handler (a 20-step trace and every
    panel: the latent model decodes each step's x̂₀ and guidance's parts), and a slider move."""
    from lab import trace

    os.environ["DITLAB_COMPILE"] = "0"  # both eager: like for like (the app compiles only its default model)
    runs = {m: (lambda m=m: list(trace.run_trace("cat face", None, 20, 5.0, 0, "euler", m))) for m in ("pixel", "latent")}
    secs = interleaved_times(runs, reps)
    frames = {m: run()[-1][0] for m, run in runs.items()}
    moves = interleaved_times({m: (lambda f=f: trace.view(f, 10)) for m, f in frames.items()}, 2 * reps)
    for m in runs:
        results[f"space_trace_{m}"], results[f"space_slider_{m}"] = secs[m], moves[m]
        rows.append((f"Forward & reverse on the {m} model: 20-step trace, every panel", f"{secs[m]:.2f} s",
                     "handler call, eager, shipped weights; interleaved with the other model"))
        rows.append((f"Forward & reverse on the {m} model: slider move (all panels + plot)", f"{moves[m] * 1000:.0f} ms",
                     "trace.view, server side"))


def cpu_description() -> str:
    """The CPU's model name and its bf16 / AMX flags, for the table's header."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), platform.processor())
    flags = [f for f in ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f", "avx2") if f" {f}" in text]
    return f"{name} ({', '.join(flags) or 'no AVX-512/AMX flags'})"


def view_timings(reps: int, rows: list, results: dict) -> None:
    """What a learner waits for in the app, through the tab handlers on the shipped weights."""
    from lab import explain, flow2d, paths, race, trace
    from lab.runtime import example_images, runtime

    runs = {
        "Sampler race (8 steps + 4-32 step curves + reference)": lambda: race.race("cat face", 0, 8, 5.0, progress=lambda *a, **k: None),
        "A flow in 2-D (train 4000 steps + two flows)": lambda: flow2d.run_flow("two moons", 3.0, 30, 0),
        "Two paths to noise (10 steps)": lambda: paths.paths(str(example_images()[0]), 0, 10),
        "Attention maps": lambda: explain.attention("red heart", 0, 0.5),
    }
    rt = runtime()
    if rt.compile_thread is not None:
        rt.compile_thread.join()  # the app a minute after start: the compiled steps are in place
    compiled = fast.forget_compiled(rt.transformer)
    run_trace = lambda: list(trace.run_trace("cat face", None, 20, 5.0, 0, "euler"))  # noqa: E731
    ab = interleaved_times({"eager": with_steps(rt.transformer, {}, run_trace),
                            "compiled": with_steps(rt.transformer, compiled, run_trace)}, 2 * reps)
    label = "Forward & reverse: 20-step trace, every panel"
    results.update({f"view_{label}_eager": ab["eager"], f"view_{label}": ab["compiled"]})
    rows.append((f"view: {label}", f"{ab['eager']:.2f} s eager, {ab['compiled']:.2f} s compiled",
                 "handler call, shipped weights; timed in turn (the app is eager until its background compile is ready)"))
    for label, fn in runs.items():
        sec = median_time(fn, max(2, reps // 3), warmup=1)
        results[f"view_{label}"] = sec
        rows.append((f"view: {label}", f"{sec:.2f} s", "handler call, shipped weights" + (", compiled step" if compiled else "")))
    frames = list(trace.run_trace("cat face", None, 20, 5.0, 0, "euler"))[-1][0]
    sec = median_time(lambda: trace.view(frames, 10), reps * 2)
    results["view_trace_slider"] = sec
    rows.append(("view: Forward & reverse slider move (all panels + plot)", f"{sec * 1000:.0f} ms", "trace.view, server side"))


def notes(results: dict) -> str:
    """What the numbers mean, computed from this run's own results."""
    heun = results["latency_heun_b1"] / results["latency_euler_b1"]
    per_call = results["latency_heun_b1"] / 39 * 1000, results["latency_euler_b1"] / 20 * 1000
    verdict = ("so a call costs the same in both and the samplers' own arithmetic is negligible next to a forward"
               if abs(heun / 1.95 - 1) < 0.15 else "more than the calls explain: the machine was not idle, rerun it")
    lines = [
        f"- **Heun vs Euler**: Heun makes 39 model calls for 20 steps (two per step, one on the last), Euler 20: "
        f"1.95× the calls. It took {heun:.2f}× the time here ({per_call[0]:.1f} vs {per_call[1]:.1f} ms per call), {verdict}.",
        "- **Per step vs full**: the pipeline computes the text's cross-attention keys/values and pooled embedding, and "
        "folds the cross-attention's projections into them, once per run (`pipelines.fast.denoising_step`); \"full\" is "
        "the plain model's forward, which redoes that at every call, as the peers do.",
        "- **Order**: every round times the models in a new random order: two identical copies of our model measured "
        "differently depending only on which model ran just before them, which a fixed order would charge to one model.",
    ]
    if "latency_compiled_b1" in results:
        lines.append(f"- **Compiled step**: `pipelines.fast` compiles the step in a background thread "
                     f"({results['compile_s']:.0f} s in this run), checks it against eager, then swaps it in; until then, "
                     "and for other batch sizes, requests run eager.")
    return "\n".join(lines)


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


def gemm_rows(reps: int, rows: list, results: dict) -> tuple[float, float | None]:
    """The machine's matrix-multiply peak (fp32, and bf16 where native): the yardstick below."""
    peak32 = gemm_peak(torch.float32, repeats=reps)
    rows.append(("GEMM peak fp32 (2048², 2 threads)", f"{peak32 / 1e9:.0f} GFLOP/s", "best of torch.matmul and oneDNN"))
    peak16 = gemm_peak(torch.bfloat16, repeats=reps) if cpu_has_native_bf16() else None
    if peak16:
        rows.append(("GEMM peak bf16 (2048²)", f"{peak16 / 1e9:.0f} GFLOP/s", "best of torch.matmul and oneDNN"))
    results.update(gemm_fp32=peak32, gemm_bf16=peak16)
    return peak32, peak16


def pipeline_rows(pipe, app_precision: str, reps: int, rows: list, results: dict) -> None:
    """End-to-end latency per sampler, with a guidance interval, and eager vs the compiled step."""
    for name in SAMPLERS:
        pipe.set_sampler(name)
        for batch in (1, 8):
            t = median_time(lambda: pipe("red apple", num_inference_steps=20, guidance_scale=3.0, num_images_per_prompt=batch,
                                         generator=torch.Generator().manual_seed(0), output_type="pt"), max(3, reps // 2), warmup=1)
            results[f"latency_{name}_b{batch}"] = t
            rows.append((f"20 guided steps, {name}, batch {batch} ({app_precision})", f"{t:.3f} s ({t / batch:.3f} s/image)", "pipeline call, prompt cached"))
    call = lambda **kw: pipe("red apple", num_inference_steps=20, guidance_scale=3.0, output_type="pt",  # noqa: E731
                             generator=torch.Generator().manual_seed(0), **kw)
    pipe.set_sampler(DEFAULT_SAMPLER)
    t = median_time(lambda: call(guidance_interval=GUIDANCE_INTERVAL), max(3, reps // 2), warmup=1)
    results["latency_interval_b1"] = t
    rows.append((f"20 steps, {DEFAULT_SAMPLER}, batch 1, guidance only for σ in {list(GUIDANCE_INTERVAL)} ({app_precision})",
                 f"{t:.3f} s", "steps outside the interval run one forward instead of two"))
    compile_s = time.perf_counter()
    compile_step(pipe.transformer, 2, pipe.transformer.dtype)  # what lab.runtime does in the background
    compile_s = time.perf_counter() - compile_s
    graphs = fast.forget_compiled(pipe.transformer)
    ab = interleaved_times({"eager": with_steps(pipe.transformer, {}, call),
                            "compiled": with_steps(pipe.transformer, graphs, call)}, 4 * reps)
    results.update(latency_ab_eager_b1=ab["eager"], latency_compiled_b1=ab["compiled"], compile_s=compile_s)
    rows.append((f"20 guided steps, {DEFAULT_SAMPLER}, batch 1: eager vs compiled step ({app_precision})",
                 f"{ab['eager']:.3f} s vs {ab['compiled']:.3f} s ({ab['eager'] / ab['compiled']:.2f}×)",
                 f"interleaved; the app compiles the step in the background ({compile_s:.0f} s here)"))
    fast.forget_compiled(pipe.transformer)


def achieved_rows(model, cfg: dict, peaks: dict[str, float | None], rows: list, results: dict) -> None:
    """Achieved FLOP/s of our batch-16 forward, against the GEMM peak."""
    n = 16
    inputs = (torch.randn(n, 3, cfg["sample_size"], cfg["sample_size"]), torch.full((n,), 500.0),
              torch.randn(n, 16, cfg["text_dim"]), torch.ones(n, 16))
    flops = forward_flops(model, inputs)
    for label, peak in peaks.items():
        if peak is None:
            continue
        achieved = flops / n * results[f"forward_b16_{label}_DiT Lab DiTTransformer, full"]
        results[f"achieved_{label}"] = achieved
        rows.append((f"DiT forward achieved, {label}", f"{achieved / 1e9:.0f} GFLOP/s = {100 * achieved / peak:.0f}% of GEMM peak", f"{flops / n / 1e9:.2f} GFLOP/image (FlopCounterMode)"))


def training_rows(model_cls, cfg: dict, train_dtype, reps: int, quick: bool, rows: list, results: dict) -> None:
    """Training images/s at the shipped config, eager and (unless quick) compiled, interleaved."""
    train_model = model_cls(**{k: v for k, v in cfg.items() if not k.startswith("_")}).train()
    opt = torch.optim.AdamW(train_model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    ema = EMA(train_model, 0.999)
    bs = 64
    x0 = torch.rand(bs, 3, cfg["sample_size"], cfg["sample_size"]) * 2 - 1
    states, masks = torch.randn(bs, 16, cfg["text_dim"]), torch.ones(bs, 16)

    def step(forward):  # one training step as training.train runs it; `forward` is the model or its compiled graph
        loss = flow_matching_loss(forward, x0, states, masks, lambda: autocast_context("cpu", train_dtype))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train_model.parameters(), 1.0)
        opt.step()
        ema.update(train_model, 1000)

    calls = {"eager": lambda: step(train_model)}
    if not quick:  # a compiled training step: about a minute of compilation first (in the warm-up)
        compiled = torch.compile(train_model)
        calls["compiled"] = lambda: step(compiled)
    secs = interleaved_times(calls, reps * 2, grad=True)
    results["train_img_per_s"] = bs / secs["eager"]
    rows.append((f"training, batch {bs} ({'bf16 autocast' if train_dtype else 'fp32'})", f"{bs / secs['eager']:.0f} img/s",
                 "loss + backward + AdamW + clip + EMA"))
    if "compiled" in secs:
        results["train_img_per_s_compiled"] = bs / secs["compiled"]
        rows.append((f"training, batch {bs}, torch.compile'd forward", f"{bs / secs['compiled']:.0f} img/s",
                     "the same step, timed in turn with the eager one; training.train's default (`--no-compile` skips it)"))


SECTION_END = "<!-- end of section -->"


def write_section(out: Path, title: str, rows: list, threads: int, reps: int) -> None:
    """Replace (or add) one `## title` section of the report, measured in a run of its own."""
    header = f"CPU: {cpu_description()}, {threads} threads, torch {torch.__version__}. Medians of {2 * reps} interleaved rounds."
    body = (f"## {title}\n\nProduced by `python benchmarks/run.py --quick --only-spaces` (a run of its own).\n\n{header}\n\n"
            "| measurement | result | how |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows) + f"\n{SECTION_END}\n")
    print(body)
    text = out.read_text() if out.exists() else ""
    start = text.find(f"## {title}\n")
    if start >= 0:
        end = text.index(SECTION_END, start) + len(SECTION_END) + 1
        text = text[:start] + body + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    out.write_text(text)


def write_report(out: Path, rows: list, results: dict, threads: int, reps: int) -> None:
    table = "| measurement | result | how |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    table += "\n\n" + notes(results)
    results["cpu"] = cpu_description()
    header = (f"CPU: {results['cpu']}, {threads} threads, torch {torch.__version__}, native bf16: {results['cpu_native_bf16']}. "
              f"Medians of {reps} runs (latency: {max(3, reps // 2)}), after warm-up.")
    print(header)
    print(table)
    out.write_text(
        "# Benchmarks\n\nProduced by `python benchmarks/run.py` (this file is rewritten by it).\n\n" + header + "\n\n" + table + "\n\n```json\n" + json.dumps(results, indent=1, default=float) + "\n```\n"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only-spaces", action="store_true", help="only the pixel vs latent rows (a quick check; writes to --out)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "README.md")
    args = p.parse_args()
    reps = 3 if args.quick else 7
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # casting warnings about fp32-only modules these models do not have
    threads = set_threads()
    torch.manual_seed(0)
    rows: list[tuple[str, str, str]] = []
    results: dict = {"threads": threads, "cpu_native_bf16": cpu_has_native_bf16(), "torch": torch.__version__, "machine": platform.processor() or platform.machine()}
    if args.only_spaces:
        space_rows(reps, rows, results)
        write_section(args.out, "Pixel vs latent model", rows, threads, reps)
        return
    peak32, peak16 = gemm_rows(reps, rows, results)

    pipe = DiTText2ImagePipeline.from_pretrained(WEIGHTS, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    app_precision = pipe.set_precision("auto")  # what the app uses
    cfg = dict(pipe.transformer.config)
    pipeline_rows(pipe, app_precision, reps, rows, results)

    # forward: ours vs diffusers peers, same inputs
    model = pipe.transformer.to(torch.float32).eval()  # timing only: bf16-rounded weights are fine
    pixart, dit = peers(cfg)
    for n in (2, 16):  # batch 2 = one guided image; 16 = a batch of 8 guided images
        forward_rows(model, pixart, dit, cfg, n, reps, rows, results)
    achieved_rows(model, cfg, {"fp32": peak32, "bf16 weights": peak16}, rows, results)
    training_rows(type(model), cfg, best_autocast_dtype("cpu"), reps, args.quick, rows, results)
    decode_rows(reps, rows, results)
    space_rows(reps, rows, results)
    view_timings(reps, rows, results)

    start = app_startup_seconds()  # `python app.py` until the page answers
    results["app_start_s"] = start
    rows.append(("app start (python app.py → page served)", f"{start:.1f} s", "imports, model + text encoder load, UI build"))
    write_report(args.out, rows, results, threads, reps)


if __name__ == "__main__":
    main()
