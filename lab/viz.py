"""Turning tensors into what a learner looks at: upscaled PNGs, strips, plots, the model
diagram, heatmaps, GIF/MP4. The app calls these; it does no tensor maths of its own."""

from __future__ import annotations

import functools
import html
import unicodedata
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch

from .i18n import say

# Every model image is shown this many pixels tall, enlarged nearest-neighbour so each model
# pixel stays a crisp square: a 32-px image 8x, a 64-px one 4x (each at its own resolution)
DISPLAY_PIXELS = 256
LATENT_LIMIT = 3.0  # latents have unit variance: a channel is drawn grey at 0, white at +3, black at -3


def to_uint8(x: torch.Tensor | np.ndarray, model_space: bool = True) -> np.ndarray:
    """(3, H, W) or (H, W, 3) tensor -> (H, W, 3) uint8. Model space [-1, 1] unless told [0, 1]."""
    t = torch.as_tensor(x).detach().float().cpu()
    if t.ndim == 4:
        t = t[0]
    if t.shape[0] == 3 and t.ndim == 3:
        t = t.permute(1, 2, 0)
    if model_space:
        t = (t + 1) / 2
    return (t.clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def upscale(arr: np.ndarray | PIL.Image.Image, scale: int | None = None, size: int = DISPLAY_PIXELS) -> PIL.Image.Image:
    """Enlarged `scale` times, or (without one) by the whole factor that brings it nearest `size`
    tall (a strip of images side by side is enlarged as each of them would be)."""
    im = arr if isinstance(arr, PIL.Image.Image) else PIL.Image.fromarray(arr)
    scale = scale or max(1, round(size / im.height))
    return im.resize((im.width * scale, im.height * scale), PIL.Image.NEAREST)


def channel_image(channel: torch.Tensor | np.ndarray, limit: float = LATENT_LIMIT) -> np.ndarray:
    """One latent channel (h, w) as grey (h, w, 3) uint8: -limit black, 0 mid-grey, +limit white."""
    v = ((torch.as_tensor(channel).float().cpu().numpy() / limit + 1) / 2).clip(0, 1)
    return (np.repeat(v[..., None], 3, -1) * 255).round().astype(np.uint8)


def channel_grid(planes: list[np.ndarray], gap: int = 1, fill: int = 255) -> np.ndarray:
    """(h, w, 3) planes two to a row, `gap` pixels of `fill` between them: one image."""
    h, w = planes[0].shape[:2]
    rows = (len(planes) + 1) // 2
    out = np.full((rows * (h + gap) - gap, 2 * (w + gap) - gap, 3), fill, np.uint8)
    for i, p in enumerate(planes):
        r, c = divmod(i, 2)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = p
    return out


def latent_tiles(z: torch.Tensor) -> np.ndarray:
    """A latent (C, h, w), or its first image of (N, C, h, w), as its channels in a grid (see
    `channel_image`): what the latent DiT's state really is, 4 numbers per position."""
    z = z[0] if z.ndim == 4 else z
    return channel_grid([channel_image(c) for c in z])


def hstack(images: list[np.ndarray], gap: int = 2, fill: int = 255) -> np.ndarray:
    h = max(i.shape[0] for i in images)
    parts = []
    for k, im in enumerate(images):
        parts.append(im)
        if k < len(images) - 1:
            parts.append(np.full((h, gap, 3), fill, np.uint8))
    return np.concatenate(parts, axis=1)


def difference_map(a01: np.ndarray, b01: np.ndarray, mask: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """|a - b| amplified, in red, over a grey copy of b; the mask's border drawn in blue.
    Outside the mask an exact match shows as plain grey."""
    diff = np.abs(a01.astype(np.float32) - b01.astype(np.float32)).max(-1)
    grey = b01.astype(np.float32).mean(-1, keepdims=True).repeat(3, -1) * 0.5 + 0.25
    out = grey.copy()
    d = np.clip(diff * gain, 0, 1)[..., None]
    out = out * (1 - d) + np.array([1.0, 0.0, 0.0]) * d
    m = mask.astype(bool)
    edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
    out[edge] = [0.1, 0.3, 1.0]
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def heatmap_overlay(image01: np.ndarray, heat: np.ndarray, vmax: float, alpha: float = 0.6) -> np.ndarray:
    """heat (h, w) on the shared scale [0, vmax] -> 'inferno' colours over the image, at the
    image's size. One scale for all tiles, so 0.03 never looks as hot as 0.8."""
    from matplotlib import colormaps

    h = np.clip(heat.astype(np.float32) / max(vmax, 1e-8), 0, 1)
    size = image01.shape[0]
    h_up = np.asarray(PIL.Image.fromarray((h * 255).astype(np.uint8)).resize((size, size), PIL.Image.BILINEAR), np.float32) / 255
    colour = colormaps["inferno"](h_up)[..., :3]
    return (np.clip((1 - alpha) * image01 + alpha * colour, 0, 1) * 255).round().astype(np.uint8)


# Fonts: DejaVu Sans (inside matplotlib, so on every machine) holds σ, ε, ₀ and the combining
# hat of x̂₀ but no Chinese; Noto Sans CJK (Debian's fonts-noto-cjk: .ci/run and packages.txt
# install it) holds Chinese but not ₀ or the combining hat. Text is drawn with DejaVu first and
# each character it lacks from the CJK font, as a browser falls back from font to font.
CJK_FONT_NAMES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf",
                  "wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf")
CJK_FACE = "Noto Sans CJK SC"  # the simplified-Chinese face inside a .ttc collection


def dejavu_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@functools.cache
def cjk_font() -> tuple[str, int] | None:
    """(path, face index) of a font with Chinese glyphs on this machine, or None."""
    from matplotlib import font_manager

    found = {Path(f).name: f for f in font_manager.findSystemFonts()}
    for name in CJK_FONT_NAMES:
        if name in found:
            return found[name], _face_index(found[name])
    return None


def _face_index(path: str) -> int:
    if not path.endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as collection:
        names = [f["name"].getDebugName(1) for f in collection.fonts]
    return names.index(CJK_FACE) if CJK_FACE in names else 0


@functools.cache
def _chain(size: int) -> tuple[tuple[PIL.ImageFont.FreeTypeFont, frozenset[int]], ...]:
    """The fonts to try, in order, each with the code points it has."""
    from fontTools.ttLib import TTFont

    chain = []
    for path, index in [(str(dejavu_path()), 0)] + ([cjk_font()] if cjk_font() else []):
        with TTFont(path, fontNumber=index, lazy=True) as tt:
            chain.append((PIL.ImageFont.truetype(path, size, index=index), frozenset(tt.getBestCmap())))
    return tuple(chain)


def font(size: int = 14) -> PIL.ImageFont.FreeTypeFont:
    """The first font of the chain (DejaVu Sans): for measuring Latin text."""
    return _chain(size)[0][0]


def text_runs(text: str, size: int = 14) -> list[tuple[str, PIL.ImageFont.FreeTypeFont]]:
    """`text` cut into runs, each drawn by the first font that has its characters. A combining
    mark stays with the letter before it, so x̂ is one glyph cluster in one font."""
    chain = _chain(size)
    runs: list[tuple[str, PIL.ImageFont.FreeTypeFont]] = []
    for ch in text:
        if runs and unicodedata.combining(ch):
            runs[-1] = (runs[-1][0] + ch, runs[-1][1])
            continue
        f = next((f for f, cmap in chain if ord(ch) in cmap), chain[0][0])
        if runs and runs[-1][1] is f:
            runs[-1] = (runs[-1][0] + ch, f)
        else:
            runs.append((ch, f))
    return runs


def draw_text(draw: PIL.ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int = 14, fill="black") -> float:
    """Draw `text` with font fallback, every run on one baseline; returns its width."""
    x, y = xy
    baseline = y + font(size).getmetrics()[0]
    for run, f in text_runs(text, size):
        draw.text((x, baseline), run, fill=fill, font=f, anchor="ls")
        x += f.getlength(run)
    return x - xy[0]


def caption_below(im: PIL.Image.Image, lines: list[str], size: int = 14) -> PIL.Image.Image:
    """The image with lines of text under it, drawn into the pixels (never cut off by a UI)."""
    pad = 4
    out = PIL.Image.new("RGB", (im.width, im.height + pad + len(lines) * (size + 6)), "white")
    out.paste(im.convert("RGB"), (0, 0))
    draw = PIL.ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw_text(draw, (pad, im.height + pad + i * (size + 6)), line, size)
    return out


def colorbar(vmax: float, width: int = 256, height: int = 56, label: str = "share of attention") -> PIL.Image.Image:
    """The attention tiles' shared scale, 0 .. vmax, as an image legend."""
    from matplotlib import colormaps

    ramp = (colormaps["inferno"](np.linspace(0, 1, width))[:, :3] * 255).astype(np.uint8)
    bar = PIL.Image.fromarray(np.repeat(ramp[None], 20, axis=0))
    out = PIL.Image.new("RGB", (width, height), "white")
    out.paste(bar, (0, 0))
    draw = PIL.ImageDraw.Draw(out)
    draw_text(draw, (2, 24), "0", 13)
    draw_text(draw, (width - 60, 24), f"{vmax:.2f}", 13)
    draw_text(draw, (width // 2 - 45, 40), label, 12)
    return out


def tile_grid(tiles: list[PIL.Image.Image], cols: int, gap: int = 6) -> PIL.Image.Image:
    """Tiles in rows of `cols`, on white: one image, so no viewer crops a tile or hides its caption."""
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    rows = (len(tiles) + cols - 1) // cols
    out = PIL.Image.new("RGB", (min(cols, len(tiles)) * (w + gap) - gap, rows * (h + gap) - gap), "white")
    for i, t in enumerate(tiles):
        out.paste(t, ((i % cols) * (w + gap), (i // cols) * (h + gap)))
    return out


def titled_row(images: list[np.ndarray], titles: list[str], header: str, size: int = 192) -> np.ndarray:
    """Images side by side, each enlarged to about `size` wide with its title above, and a header
    line: one animation frame (its sides even, as video encoders want)."""
    tiles = [upscale(im, size=size) for im in images]
    w = sum(t.width for t in tiles) + 6 * (len(tiles) - 1)
    top = 48
    h = max(t.height for t in tiles) + top
    out = PIL.Image.new("RGB", (w + (w % 2), h + h % 2), "white")
    draw = PIL.ImageDraw.Draw(out)
    draw_text(draw, (4, 2), header, 16)
    x = 0
    for tile, title in zip(tiles, titles):
        draw_text(draw, (x + 2, 26), title, 14, fill="#333")
        out.paste(tile, (x, top))
        x += tile.width + 6
    return np.asarray(out)


def subplots(*args, **kwargs):
    """A matplotlib figure on the Agg backend (no display: the app runs on servers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _matplotlib_fonts()
    return plt.subplots(*args, **kwargs)


@functools.cache
def _matplotlib_fonts() -> None:
    """DejaVu first, then the CJK font for the characters DejaVu lacks (matplotlib falls back
    glyph by glyph along font.family), so titles and legends in Chinese draw no boxes."""
    import matplotlib
    from matplotlib import font_manager

    found = cjk_font()
    if found is None:
        return
    font_manager.fontManager.addfont(found[0])
    names = {f.name for f in font_manager.fontManager.ttflist if f.fname == found[0]}
    face = CJK_FACE if CJK_FACE in names else sorted(names)[0]
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", face]


def finished(fig, margins: dict | None = None):
    """Lay the figure out and release pyplot's reference to it (Gradio keeps its own). Fixed
    `margins` (subplots_adjust) skip tight_layout's text measuring, which is most of the time
    of a small figure redrawn on every slider move."""
    import matplotlib.pyplot as plt

    if margins is None:
        fig.tight_layout()
    else:
        fig.subplots_adjust(**margins)
    plt.close(fig)
    return fig


# the schedule figure's layout, fixed: it is redrawn at every move of the trace's slider
SCHEDULE_MARGINS = dict(left=0.09, right=0.98, bottom=0.32, top=0.89, wspace=0.04)


def schedule_figure(sigmas: list[float], current: int | None = None, current_sigma: float | None = None, title: str = "Noise schedule"):
    """sigma (noise) and 1 - sigma (signal) against the sampler's steps, with the training
    distribution of sigma (logit-normal) on the side, and the current step marked."""
    # 6 inches wide with 10-11 pt text: still readable when a phone shrinks it to 400 px
    fig, (ax, ax2) = subplots(1, 2, figsize=(6, 3.4), gridspec_kw={"width_ratios": [3, 1]})
    steps = np.arange(len(sigmas))
    s = np.asarray(sigmas)
    ax.plot(steps, s, "o-", ms=3, color="#d62728", label=say("σ (noise weight)"))
    ax.plot(steps, 1 - s, "o-", ms=3, color="#1f77b4", label=say("1 − σ (signal weight)"))
    if current is not None:
        ax.axvline(current, color="k", lw=1, ls="--")
        ax.plot([current], [s[current]], "o", ms=9, color="k", zorder=5)
    if current_sigma is not None and current is None:
        ax.axhline(current_sigma, color="k", lw=1, ls="--")
        k = int(np.argmin(np.abs(s - current_sigma)))
        ax.plot([k], [current_sigma], "o", ms=9, color="k", zorder=5)
    ax.set_xlabel(say("reverse step (noise → data)"))
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(say(title), fontsize=11)
    ax.tick_params(labelsize=10)
    # below the axes: the two lines cross in the middle, so no corner inside is free of them
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    grid = np.linspace(0.001, 0.999, 400)
    logit = np.log(grid / (1 - grid))
    dens = np.exp(-(logit**2) / 2) / np.sqrt(2 * np.pi) / (grid * (1 - grid))
    ax2.plot(dens, grid, color="#555")
    ax2.fill_betweenx(grid, 0, dens, alpha=0.2, color="#555")
    ax2.set_title(say("σ seen in training"), fontsize=11)
    ax2.set_ylim(-0.03, 1.03)
    ax2.set_xticks([])
    ax2.tick_params(labelleft=False)  # the same σ axis as the left panel's
    return finished(fig, SCHEDULE_MARGINS)


def architecture_svg(config: dict, param_counts: dict[str, int]) -> str:
    """The shipped DiT drawn with its real sizes: patches -> blocks (with long skips) -> pixels."""
    s, p, d, depth, heads = (config[k] for k in ("sample_size", "patch_size", "hidden_size", "depth", "num_heads"))
    c, t = config["in_channels"], (config["sample_size"] // config["patch_size"]) ** 2
    L, td = config.get("max_text_length", 16), config["text_dim"]

    def box(x, y, w, h, text, fill, sub=""):
        sub_el = f'<text x="{x + w / 2}" y="{y + h / 2 + 15}" font-size="10" text-anchor="middle" fill="#333">{html.escape(sub)}</text>' if sub else ""
        return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="#333"/>'
                f'<text x="{x + w / 2}" y="{y + h / 2 + (0 if sub else 4)}" font-size="12" text-anchor="middle" font-weight="600">{html.escape(text)}</text>{sub_el}')

    els = []
    y0, bw = 20, 150
    xs = [10 + i * 165 for i in range(6)]
    latent = c != 3  # a latent model's input is the autoencoder's latent z_t, not pixels
    els.append(box(xs[0], y0, bw, 56, f"{'z' if latent else 'x'}_t: {s}×{s}×{c}", "#fde2e2",
                   say("noisy latent (decoded after)") if latent else say("noisy image")))
    els.append(box(xs[1], y0, bw, 56, say("patchify {p}×{p}", p=p), "#fff2cc", say("{t} tokens × {d} + positions", t=t, d=d)))
    block_w = (xs[4] - xs[2] + bw) / depth
    for i in range(depth):
        bx = xs[2] + i * block_w
        els.append(box(bx + 2, y0, block_w - 6, 56, f"B{i + 1}", "#d9ead3"))
    half = depth // 2
    if config.get("long_skip"):
        for i in range(half):
            a = xs[2] + i * block_w + block_w / 2
            b = xs[2] + (depth - 1 - i) * block_w + block_w / 2
            els.append(f'<path d="M{a},{y0} C{a},{y0 - 14 - 3 * i} {b},{y0 - 14 - 3 * i} {b},{y0}" fill="none" stroke="#6aa84f" stroke-width="1.5"/>')
    els.append(box(xs[5], y0, bw, 56, say("unpatchify + 3×3 conv"), "#fff2cc", f"→ v: {s}×{s}×{c}"))
    for a, b in ((xs[0] + bw, xs[1]), (xs[1] + bw, xs[2])):
        els.append(f'<line x1="{a}" y1="{y0 + 28}" x2="{b}" y2="{y0 + 28}" stroke="#333" marker-end="url(#arr)"/>')
    els.append(f'<line x1="{xs[4] + bw}" y1="{y0 + 28}" x2="{xs[5]}" y2="{y0 + 28}" stroke="#333" marker-end="url(#arr)"/>')
    y1 = y0 + 100
    els.append(box(xs[0], y1, bw, 56, say("prompt → MiniLM (frozen)"), "#cfe2f3", say("{L} tokens × {td}", L=L, td=td)))
    els.append(box(xs[1], y1, bw, 56, say("caption projection"), "#cfe2f3", say("{L} × {d} → cross-attention", L=L, d=d)))
    els.append(box(xs[2], y1, bw, 56, say("pooled text + t embedding"), "#ead1dc", f"{d} → adaLN-Zero (6×{d})"))
    els.append(f'<line x1="{xs[0] + bw}" y1="{y1 + 28}" x2="{xs[1]}" y2="{y1 + 28}" stroke="#333" marker-end="url(#arr)"/>')
    els.append(f'<line x1="{xs[1] + bw / 2}" y1="{y1}" x2="{xs[3]}" y2="{y0 + 58}" stroke="#3d85c6" stroke-dasharray="4 3" marker-end="url(#arr)"/>')
    els.append(f'<line x1="{xs[2] + bw / 2}" y1="{y1}" x2="{xs[2] + bw / 2}" y2="{y0 + 58}" stroke="#a64d79" stroke-dasharray="4 3" marker-end="url(#arr)"/>')
    legend = say("{depth} DiT blocks, width {d}, {heads} heads; each: adaLN-Zero self-attention → cross-attention to the "
                 "{L} text tokens → adaLN-Zero MLP (×{r:g}). Green arcs: U-ViT long skips.", depth=depth, d=d, heads=heads, L=L,
                 r=config["mlp_ratio"])
    counts = " · ".join(f"{say(k)}: {v / 1e6:.2f}M" for k, v in param_counts.items())
    els.append(f'<text x="10" y="{y1 + 82}" font-size="11">{html.escape(legend)}</text>')
    els.append(f'<text x="10" y="{y1 + 100}" font-size="11" fill="#444">{html.escape(say("Parameters"))} — {html.escape(counts)}</text>')
    return (f'<svg viewBox="0 0 1000 {y1 + 110}" xmlns="http://www.w3.org/2000/svg" style="width:100%;max-width:1000px;font-family:sans-serif">'
            '<defs><marker id="arr" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>'
            + "".join(els) + "</svg>")


def write_gif(frames: list[np.ndarray], path: Path | str, fps: float = 6.0, hold_last: int = 4) -> Path:
    """Looping GIF; the last frame stays `hold_last` frames long so the result can be seen."""
    ims = [PIL.Image.fromarray(f) for f in frames]
    durations = [int(1000 / fps)] * (len(ims) - 1) + [int(1000 / fps) * (1 + hold_last)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=durations, loop=0, disposal=2)
    return Path(path)


def write_mp4(frames: list[np.ndarray], path: Path | str, fps: float = 6.0, hold_last: int = 4) -> Path:
    """H.264, yuv420p (plays everywhere), sizes padded to even numbers as yuv420p needs."""
    import imageio.v2 as imageio

    frames = list(frames) + [frames[-1]] * hold_last
    h, w = frames[0].shape[:2]
    ph, pw = h + h % 2, w + w % 2
    with imageio.get_writer(path, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=1,
                            ffmpeg_params=["-crf", "18"]) as writer:
        for f in frames:
            if (ph, pw) != (h, w):
                f = np.pad(f, ((0, ph - h), (0, pw - w), (0, 0)), constant_values=255)
            writer.append_data(f)
    return Path(path)
