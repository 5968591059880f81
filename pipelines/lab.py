"""Everything the DiT Lab app shows, as plain, testable functions.

app.py only wires these to Gradio components. Each long handler here is a generator that
yields frames while the model runs (so the UI streams, and a Stop can interrupt it) and
finishes with its full result.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import PIL.Image
import torch

from . import schedulers as flow
from .hardware import set_threads
from .image_utils import to_mask_tensor, to_unit_tensor
from .metrics import psnr, ssim
from .pipeline_dit import DiTImg2ImgPipeline, DiTInpaintPipeline, DiTPipelineBase, DiTText2ImagePipeline, TraceStep
from .viz import (
    architecture_svg,
    difference_map,
    heatmap_overlay,
    hstack,
    schedule_figure,
    to_uint8,
    upscale,
    write_gif,
    write_mp4,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS = ROOT / "weights" / "dit-emoji"
EXAMPLES_DIR = ROOT / "assets" / "examples"
MAX_SEED = 2**31 - 1
PROBE_PIXEL = (16, 16)  # (row, col) whose numbers the equations show


def example_images() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.png"))


@dataclass
class Frames:
    """A run's steps as uint8 images (S, 32, 32, 3) per panel, plus the numbers per step."""

    panels: dict[str, np.ndarray]
    sigmas: list[float]
    numbers: list[dict[str, float]] = field(default_factory=list)  # probe-pixel values per step
    guidance_scale: float | None = None
    forward_numbers: list[dict[str, float]] = field(default_factory=list)  # forward process, per step
    mask: np.ndarray | None = None  # inpainting: 1 = repainted

    def __len__(self) -> int:
        return len(self.sigmas)


def frames_from_trace(trace: list[TraceStep], final: torch.Tensor | None = None, image: int = 0, guidance_scale: float | None = None) -> Frames:
    """One image's trace as display panels. `final` (model space) is appended as the last
    x_t, so a scrubber can reach the finished image."""
    panels: dict[str, list[np.ndarray]] = {"x_t": [], "x0_pred": [], "noise_pred": [], "x0_cond": [], "x0_uncond": []}
    extras: dict[str, list[np.ndarray]] = {}
    numbers = []
    r, c = PROBE_PIXEL
    for s in trace:
        panels["x_t"].append(to_uint8(s.x_t[image]))
        panels["x0_pred"].append(to_uint8(s.x0_pred[image]))
        panels["noise_pred"].append(to_uint8(s.noise_pred[image]))
        if s.x0_cond is not None:
            panels["x0_cond"].append(to_uint8(s.x0_cond[image]))
            panels["x0_uncond"].append(to_uint8(s.x0_uncond[image]))
        for name, t in s.extras.items():
            extras.setdefault(name, []).append(to_uint8(t[image]))
        v = (s.x_t[image, 0, r, c] - s.x0_pred[image, 0, r, c]) / max(s.sigma, 1e-8)
        num = {
            "sigma": s.sigma, "sigma_next": s.sigma_next, "t": s.timestep,
            "x_t": float(s.x_t[image, 0, r, c]), "x0_pred": float(s.x0_pred[image, 0, r, c]),
            "noise_pred": float(s.noise_pred[image, 0, r, c]), "v": float(v),
        }
        if s.x0_cond is not None:
            num.update(x0_cond=float(s.x0_cond[image, 0, r, c]), x0_uncond=float(s.x0_uncond[image, 0, r, c]))
        numbers.append(num)
    out = {k: np.stack(v) for k, v in panels.items() if v}
    out.update({k: np.stack(v) for k, v in extras.items()})
    sig = [s.sigma for s in trace]
    if final is not None and trace:
        out["x_t"] = np.concatenate([out["x_t"], to_uint8(final[image])[None]])
    return Frames(out, sig, numbers, guidance_scale)


def _sigma_grid(sampler: str, steps: int) -> list[float]:
    """The sigmas a sampler visits for `steps` steps, ending at 0."""
    sch = flow.make_scheduler(sampler)
    sch.set_timesteps(int(steps))
    return sch.sigmas.float().tolist()


def forward_equation(sigma: float, x0: float, eps: float) -> str:
    """The forward process at the probe pixel, with this step's numbers filled in."""
    xt = (1 - sigma) * x0 + sigma * eps
    return (f"$$x_t = (1-\\sigma)\\,x_0 + \\sigma\\,\\varepsilon = (1-{sigma:.3f})\\cdot({x0:+.3f}) + {sigma:.3f}\\cdot({eps:+.3f}) = {xt:+.3f}$$")


def reverse_equations(num: dict[str, float], guidance_scale: float | None) -> str:
    """The reverse step at the probe pixel: prediction, guidance, update — numbers from the run."""
    s, sn = num["sigma"], num["sigma_next"]
    lines = [
        f"$$\\hat x_0 = x_t - \\sigma\\,v = {num['x_t']:+.3f} - {s:.3f}\\cdot({num['v']:+.3f}) = {num['x0_pred']:+.3f}$$",
        f"$$\\hat\\varepsilon = x_t + (1-\\sigma)\\,v = {num['x_t']:+.3f} + {1 - s:.3f}\\cdot({num['v']:+.3f}) = {num['noise_pred']:+.3f}$$",
    ]
    if "x0_cond" in num and guidance_scale is not None:
        g = guidance_scale
        guided = num["x0_uncond"] + g * (num["x0_cond"] - num["x0_uncond"])
        lines.append(
            f"$$\\hat x_0^{{\\text{{guided}}}} = \\hat x_0^{{\\varnothing}} + g\\,(\\hat x_0^{{c}} - \\hat x_0^{{\\varnothing}}) = "
            f"{num['x0_uncond']:+.3f} + {g:g}\\cdot({num['x0_cond']:+.3f} - ({num['x0_uncond']:+.3f})) = {guided:+.3f}$$"
        )
    lines.append(
        f"$$x_{{\\text{{next}}}} = x_t + (\\sigma_{{\\text{{next}}}} - \\sigma)\\,v = {num['x_t']:+.3f} + ({sn:.3f} - {s:.3f})\\cdot({num['v']:+.3f}) = "
        f"{num['x_t'] + (sn - s) * num['v']:+.3f}$$"
    )
    return "\n".join(lines)


class Lab:
    """The loaded model and the three pipelines that share it."""

    def __init__(self, weights: Path | str = DEFAULT_WEIGHTS, device: str | None = None) -> None:
        set_threads()
        weights = Path(weights)
        if not (weights / "model_index.json").exists():
            raise FileNotFoundError(f"No model in {weights}: train one with `python -m pipelines.train --output {weights}`.")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        t2i = DiTText2ImagePipeline.from_pretrained(weights, use_safetensors=True).to(self.device)
        self.t2i = t2i
        self.inpaint = DiTInpaintPipeline(t2i.transformer, flow.make_scheduler(flow.DEFAULT_SAMPLER), t2i.tokenizer, t2i.text_encoder)
        self.img2img = DiTImg2ImgPipeline(t2i.transformer, flow.make_scheduler(flow.DEFAULT_SAMPLER), t2i.tokenizer, t2i.text_encoder)
        self.precision = t2i.set_precision("auto")  # bf16 weights where the CPU runs bf16 natively
        for p in (self.t2i, self.inpaint, self.img2img):
            p._prompt_cache = t2i._prompt_cache  # one prompt cache for all tabs
            p.autocast_dtype = t2i.autocast_dtype
            p.set_progress_bar_config(disable=True)
        self._lock = threading.Lock()

    # -------------------------------------------------------------- streaming
    def _stream(self, pipe: DiTPipelineBase, **kwargs) -> Iterator[tuple[str, Any]]:
        """Run `pipe` in a worker thread; yield ("step", (i, x0_pred)) per step, then ("done", output).
        If the consumer stops early (Gradio's Stop), the pipeline is interrupted."""
        q: queue.Queue = queue.Queue()
        box: dict[str, Any] = {}

        def on_step(p, i, t, kw):
            q.put(("step", (i, kw["x0_pred"].detach().cpu())))
            return {}

        def work():
            try:
                with self._lock:
                    box["out"] = pipe(**kwargs, callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["x0_pred"])
            except BaseException as e:  # handed to the consumer
                box["err"] = e
            finally:
                q.put(("end", None))

        th = threading.Thread(target=work, daemon=True)
        th.start()
        finished = False
        try:
            while True:
                kind, item = q.get()
                if kind == "end":
                    finished = True
                    break
                yield kind, item
        finally:
            if not finished:
                pipe.interrupt()
            th.join()
        if "err" in box:
            raise box["err"]
        yield "done", box["out"]

    # --------------------------------------------------------------- generate
    def generate(self, prompt: str, negative_prompt: str = "", seed: int = 0, steps: int = 20, guidance_scale: float = flow.DEFAULT_GUIDANCE,
                 sampler: str = flow.DEFAULT_SAMPLER, num_images: int = 1) -> Iterator[dict]:
        """Yields {"preview": PIL} per step, then {"images": [PIL], "frames": Frames, "seed": int}."""
        self.t2i.set_sampler(sampler)
        gens = [torch.Generator().manual_seed(int(seed) + k) for k in range(int(num_images))]
        for kind, item in self._stream(self.t2i, prompt=prompt, negative_prompt=negative_prompt or "", num_inference_steps=int(steps),
                                       guidance_scale=float(guidance_scale), num_images_per_prompt=int(num_images), generator=gens,
                                       output_type="pt", return_trace=True):
            if kind == "step":
                i, x0 = item
                yield {"preview": upscale(hstack([to_uint8(x) for x in x0])), "step": i}
            else:
                out = item
                images = [PIL.Image.fromarray(to_uint8(x, model_space=False)) for x in out.images]
                frames = frames_from_trace(out.trace, final=out.images * 2 - 1, guidance_scale=float(guidance_scale))
                yield {"images": images, "frames": frames, "seed": int(seed), "steps_run": out.num_steps_run}

    # ---------------------------------------------------------------- inpaint
    def inpaint_run(self, image: PIL.Image.Image, mask: np.ndarray | PIL.Image.Image, prompt: str = "", strength: float = 1.0,
                    steps: int = 20, guidance_scale: float = flow.DEFAULT_GUIDANCE, jump_length: int = 1, jump_n_sample: int = 1,
                    seed: int = 0) -> Iterator[dict]:
        """Yields previews, then {"result": PIL, "diff": PIL, "max_outside_diff": float, "frames": Frames, "mask": array}."""
        size = self.t2i.sample_size
        mask_t = to_mask_tensor(mask, (image.height, image.width), size)
        if mask_t.sum() == 0:
            raise ValueError("The mask is empty: paint over the part of the image you want the model to redraw.")
        sampler = "euler" if int(jump_n_sample) > 1 else self.inpaint.sampler
        self.inpaint.set_sampler(sampler)
        for kind, item in self._stream(self.inpaint, image=image, mask_image=mask, prompt=prompt, strength=float(strength),
                                       num_inference_steps=int(steps), guidance_scale=float(guidance_scale),
                                       jump_length=int(jump_length), jump_n_sample=int(jump_n_sample),
                                       generator=torch.Generator().manual_seed(int(seed)), output_type="pt", return_trace=True):
            if kind == "step":
                yield {"preview": upscale(to_uint8(item[1][0])), "step": item[0]}
            else:
                out = item
                original = to_unit_tensor(image, size)[0].permute(1, 2, 0).numpy()
                result = out.images[0].permute(1, 2, 0).numpy()
                m = mask_t[0, 0].numpy()
                outside = np.abs(result - original)[m == 0]
                frames = frames_from_trace(out.trace, final=out.images * 2 - 1, guidance_scale=float(guidance_scale))
                frames.mask = m
                yield {
                    "result": PIL.Image.fromarray(to_uint8(out.images[0], model_space=False)),
                    "diff": upscale(difference_map(result, original, m)),
                    "max_outside_diff": float(outside.max()) if outside.size else 0.0,
                    "frames": frames, "mask": m, "original": original, "steps_run": out.num_steps_run,
                }

    # ---------------------------------------------------------------- denoise
    def denoise(self, image: PIL.Image.Image, sigma: float = 0.5, image_is_noisy: bool = False, steps: int = 20, seed: int = 0,
                prompt: str = "", guidance_scale: float = 1.0, sampler: str = flow.DEFAULT_SAMPLER) -> Iterator[dict]:
        """Yields previews, then the noisy input, one-step x0_hat, the iterative result and their PSNR/SSIM."""
        size = self.t2i.sample_size
        self.img2img.set_sampler(sampler)
        clean = to_unit_tensor(image, size)
        gen = torch.Generator().manual_seed(int(seed))
        for kind, item in self._stream(self.img2img, image=image, prompt=prompt, sigma=float(sigma), image_is_noisy=bool(image_is_noisy),
                                       num_inference_steps=int(steps), guidance_scale=float(guidance_scale), generator=gen,
                                       output_type="pt", return_trace=True):
            if kind == "step":
                yield {"preview": upscale(to_uint8(item[1][0])), "step": item[0]}
                continue
            out = item
            if not out.trace:
                yield {"noisy": PIL.Image.fromarray(to_uint8(clean[0], False)), "one_step": None, "result": PIL.Image.fromarray(to_uint8(clean[0], False)),
                       "metrics": [], "steps_run": 0, "steps_scheduled": int(steps), "sigma_start": 0.0, "frames": None}
                return
            first = out.trace[0]
            noisy01 = ((first.x_t + 1) / 2).clamp(0, 1)
            one01 = ((first.x0_pred + 1) / 2).clamp(0, 1)
            res01 = out.images
            rows = []
            if not image_is_noisy:
                for name, x in (("noisy input", noisy01), ("one-step x̂₀", one01), ("iterative result", res01)):
                    rows.append([name, round(psnr(x[0], clean[0]), 2), round(ssim(x[0], clean[0]), 4)])
            yield {
                "noisy": PIL.Image.fromarray(to_uint8(noisy01[0], False)),
                "one_step": PIL.Image.fromarray(to_uint8(one01[0], False)),
                "result": PIL.Image.fromarray(to_uint8(res01[0], False)),
                "metrics": rows, "steps_run": out.num_steps_run, "steps_scheduled": out.num_steps_scheduled,
                "sigma_start": first.sigma, "frames": frames_from_trace(out.trace, final=res01 * 2 - 1),
            }

    # ------------------------------------------------------ forward & reverse
    def forward_reverse(self, prompt: str, image: PIL.Image.Image | None = None, steps: int = 20, guidance_scale: float = flow.DEFAULT_GUIDANCE,
                        seed: int = 0, sampler: str = "euler") -> Iterator[dict]:
        """The forward process of an image (or of the generated one) and the reverse run from
        the same noise, step-aligned: index k shows forward x at noise sigma_k and reverse x_t at sigma_k."""
        self.t2i.set_sampler(sampler)
        size = self.t2i.sample_size
        gen = torch.Generator().manual_seed(int(seed))
        noise = torch.randn(1, 3, size, size, generator=gen)
        result = None
        for kind, item in self._stream(self.t2i, prompt=prompt, num_inference_steps=int(steps), guidance_scale=float(guidance_scale),
                                       latents=noise.clone(), output_type="pt", return_trace=True):
            if kind == "step":
                yield {"preview": upscale(to_uint8(item[1][0])), "step": item[0]}
            else:
                result = item
        x0_img = image if image is not None else result.images[0]
        x0 = to_unit_tensor(x0_img, size) * 2 - 1
        frames = frames_from_trace(result.trace, final=result.images * 2 - 1, guidance_scale=float(guidance_scale))
        # forward x at the reverse run's sigmas (plus sigma = 0 at the end), with the same eps
        sig = frames.sigmas + [0.0]
        fwd = [to_uint8(flow.add_noise(x0, noise, s)[0]) for s in sig]
        frames.panels["forward"] = np.stack(fwd)
        r, c = PROBE_PIXEL
        frames.forward_numbers = [{"sigma": s, "x0": float(x0[0, 0, r, c]), "eps": float(noise[0, 0, r, c])} for s in sig]
        yield {"frames": frames, "result": PIL.Image.fromarray(to_uint8(result.images[0], False))}

    def step_view(self, frames: Frames, k: int) -> dict:
        """Panels and equations at step k of a forward/reverse run (k = len(frames) is the end)."""
        n = len(frames)
        k = int(np.clip(k, 0, n))
        j = min(k, n - 1)  # predictions exist for steps 0..n-1; at the end show the last
        p = frames.panels
        view = {
            "forward": upscale(p["forward"][k]) if "forward" in p else None,
            "x_t": upscale(p["x_t"][k]),
            "x0_pred": upscale(p["x0_pred"][j]),
            "noise_pred": upscale(p["noise_pred"][j]),
            "x0_cond": upscale(p["x0_cond"][j]) if "x0_cond" in p else None,
            "x0_uncond": upscale(p["x0_uncond"][j]) if "x0_uncond" in p else None,
            "sigma": frames.sigmas[k] if k < n else 0.0,
        }
        eq = []
        if frames.forward_numbers:
            f = frames.forward_numbers[k]
            eq.append("**Forward** (red channel of the centre pixel, data → noise):\n" + forward_equation(f["sigma"], f["x0"], f["eps"]))
        eq.append(f"**Reverse**, step {j + 1} of {n}:\n" + reverse_equations(frames.numbers[j], frames.guidance_scale))
        view["equations"] = "\n\n".join(eq)
        view["plot"] = schedule_figure(frames.sigmas + [0.0], current=k, title=f"Step {k} of {n}: σ = {view['sigma']:.3f}")
        return view

    def inpaint_step_view(self, frames: Frames, k: int) -> dict:
        """Step k of an inpainting run: the model's proposal (inside the mask), the known region
        noised to the same level (outside), and their merge, which is the next x_t."""
        k = int(np.clip(k, 0, len(frames) - 1))
        m = frames.mask[..., None].astype(bool)
        dim = lambda a, keep: np.where(keep, a, (a.astype(np.float32) * 0.25 + 191).astype(np.uint8))  # grey out the other part
        p = frames.panels
        return {
            "proposal": upscale(dim(p["proposal"][k], m)),
            "known": upscale(dim(p["known_noised"][k], ~m)),
            "merged": upscale(p["x_t"][k + 1]),
        }

    @staticmethod
    def downloads(images: list[PIL.Image.Image], stem: str = "ditlab") -> list[str]:
        """Each image as a PNG at native size and at display size (8x, nearest-neighbour)."""
        folder = Path(tempfile.mkdtemp(prefix="ditlab-"))
        paths = []
        for i, im in enumerate(images):
            native, big = folder / f"{stem}-{i}-32px.png", folder / f"{stem}-{i}-{im.width * 8}px.png"
            im.save(native)
            upscale(im).save(big)
            paths += [str(native), str(big)]
        return paths

    @staticmethod
    def display(image: PIL.Image.Image | None) -> PIL.Image.Image | None:
        return None if image is None else upscale(image)

    def schedule_point(self, steps: int, sigma: float):
        """The default sampler's schedule of `steps` steps with the noise level sigma marked."""
        return schedule_figure(_sigma_grid(flow.DEFAULT_SAMPLER, steps), current_sigma=float(sigma), title=f"σ = {float(sigma):.2f} on the {int(steps)}-step schedule")

    def export(self, frames: Frames, fmt: str = "gif", fps: float = 4.0, scale: int = 4) -> Path:
        """[forward | reverse x_t | x̂₀ | ε̂] side by side for every step, as GIF or MP4."""
        n = len(frames)
        rows = []
        for k in range(n + 1):
            j = min(k, n - 1)
            parts = [frames.panels["forward"][k]] if "forward" in frames.panels else []
            parts += [frames.panels["x_t"][k], frames.panels["x0_pred"][j], frames.panels["noise_pred"][j]]
            rows.append(np.asarray(upscale(hstack(parts), scale)))
        path = Path(tempfile.mkdtemp(prefix="ditlab-")) / f"forward_reverse.{fmt}"
        return write_gif(rows, path, fps) if fmt == "gif" else write_mp4(rows, path, fps)

    # ---------------------------------------------------------- how it works
    def architecture(self) -> str:
        m = self.t2i.transformer
        counts = {
            "patch + text embedders": sum(p.numel() for n, p in m.named_parameters() if not n.startswith(("blocks", "final_layer", "out_conv"))),
            "DiT blocks": sum(p.numel() for p in m.blocks.parameters()),
            "final layer + conv": sum(p.numel() for n, p in m.named_parameters() if n.startswith(("final_layer", "out_conv"))),
            "total": sum(p.numel() for p in m.parameters()),
        }
        return architecture_svg(dict(m.config), counts)

    def schedule(self, sampler: str, steps: int):
        return schedule_figure(_sigma_grid(sampler, steps), title=f"{sampler}, {int(steps)} steps: the σ the sampler visits")

    @torch.no_grad()
    def attention_maps(self, prompt: str, seed: int = 0, sigma: float = 0.5, steps: int = 20) -> tuple[PIL.Image.Image, list[tuple[PIL.Image.Image, str]]]:
        """Cross-attention of the image tokens to each word, averaged over heads and blocks,
        measured on the generated image re-noised to `sigma`."""
        out = next(o for k, o in self._stream(self.t2i, prompt=prompt, num_inference_steps=int(steps), guidance_scale=flow.DEFAULT_GUIDANCE,
                                            generator=torch.Generator().manual_seed(int(seed)), output_type="pt") if k == "done")
        x0 = out.images * 2 - 1
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(int(seed) + 1))
        xt = flow.add_noise(x0, noise, sigma).to(self.device, self.t2i.transformer.dtype)
        emb = self.t2i.encode_prompt([prompt])
        res = self.t2i.transformer(xt, flow.timestep_from_sigma(torch.tensor([sigma], device=self.device)), emb.hidden_states,
                                   emb.attention_mask, emb.pooled, return_attention=True)
        maps = torch.stack(res.attention_maps).mean(dim=(0, 2))[0].float().cpu()  # (T, L)
        ids = self.t2i.tokenizer(prompt.strip().lower(), truncation=True, max_length=emb.hidden_states.shape[1])["input_ids"]
        tokens = self.t2i.tokenizer.convert_ids_to_tokens(ids)
        g = self.t2i.transformer.grid_size
        img01 = out.images[0].permute(1, 2, 0).numpy()
        gallery = []
        for i, tok in enumerate(tokens):
            heat = maps[:, i].reshape(g, g).numpy()
            label = tok if tok not in ("[CLS]", "[SEP]") else f"{tok} (special)"
            gallery.append((upscale(heatmap_overlay(img01, heat)), f"{label}: {maps[:, i].mean():.2f} of attention"))
        return upscale(to_uint8(out.images[0], False)), gallery
