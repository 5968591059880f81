"""The one gate every upload and every number passes before it reaches a model.

Uploads arrive as file paths (the app's image components do not decode them), so the
decoding, its limits and its messages are ours: EXIF orientation applied, any mode (16-bit,
palette with transparency, grey + alpha, CMYK, ...) turned into RGB over white exactly once,
too-large, damaged, empty or non-image files refused with a sentence that names the control,
and masks checked for size, mode and content. Nothing here shows a server path or a
library's wording to the user.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import gradio as gr
from gradio.components.image_editor import EditorData
from pydantic import ValidationError
import numpy as np
import PIL.Image
import PIL.ImageOps

from pipelines.image_utils import fit_square, to_mask_tensor
from pipelines.checks import check_number

from .i18n import say
from .runtime import DEFAULT_MODEL, MAX_SEED, MODELS

MAX_UPLOAD_MB = 10  # the app's max_file_size: a 32-pixel model needs no more
MAX_PIXELS = 40_000_000  # larger images are refused before decoding (decompression bombs)
MAX_PROMPT_CHARS = 200
FORMATS = "PNG, JPEG, GIF, WebP or BMP"
SIZE = 32


def fail(message: str) -> gr.Error:
    return gr.Error(message, print_exception=False)


# ------------------------------------------------------------------ numbers
def number(value, control: str, low: float, high: float, integer: bool = False) -> float | int:
    """A finite number in [low, high] for the control labelled `control`, else a clear error."""
    kind = say("a whole number") if integer else say("a number")
    bounds = say("between {low} and {high}", low=_plain(low), high=_plain(high))
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise fail(say("{control} must be {kind} {bounds}; got {got}.", control=control, kind=kind, bounds=bounds, got=_short(value))) from None
    try:
        return check_number(control, value, low, high, integer=integer)
    except ValueError:
        raise fail(say("{control} must be {kind} {bounds}; got {got}.", control=control, kind=kind, bounds=bounds, got=_short(value))) from None


def _plain(x: float) -> str:
    """A bound as people write it: 2147483647, not 2.14748e+09; 0.05, not 5e-02."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def seed(value, randomize: bool = False) -> int:
    import random

    return random.randint(0, MAX_SEED) if randomize else int(number(value, "Seed", 0, MAX_SEED, integer=True))


def prompt(value, control: str = "Prompt", required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise fail(say("{control} must be text.", control=control))
    value = " ".join(value.split())
    if required and not value:
        raise fail(say("{control}: type something first, e.g. “red apple” or “cat face, noto style”.", control=control))
    if len(value) > MAX_PROMPT_CHARS:
        raise fail(say("{control} is {n} characters long; keep it under {limit} (the model reads 16 tokens).", control=control, n=len(value), limit=MAX_PROMPT_CHARS))
    return value


def choice(value, control: str, allowed) -> str:
    if value not in allowed:
        raise fail(say("{control} must be one of: {allowed}.", control=control, allowed=', '.join(map(str, allowed))))
    return value


def model(value) -> str:
    """The model's key (see lab.runtime.MODELS); empty means the default."""
    return DEFAULT_MODEL if value is None or value == "" else choice(value, "Model", list(MODELS))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------- images
def open_image(value, control: str) -> PIL.Image.Image:
    """An upload (path, PIL image or array) -> an RGB PIL image at its full size, EXIF
    orientation applied, transparency composited over white."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise fail(say("{control}: no image arrived. Pick an example or upload an image ({formats}); a file the browser cannot open as an image (a text file renamed .png, say) does not arrive either.", control=control, formats=FORMATS))
    if isinstance(value, PIL.Image.Image):
        return rgb_on_white(value)
    if isinstance(value, np.ndarray):
        return rgb_on_white(PIL.Image.fromarray(value.astype(np.uint8)))
    if isinstance(value, dict):  # what the browser or the API sends: a FileData dict
        value = value.get("path") or _data_url_file(value.get("url"), control)
    if not isinstance(value, (str, Path)):
        raise fail(say("{control}: expected an image file.", control=control))
    path = Path(value)
    if not path.is_file() or path.stat().st_size == 0:
        raise fail(say("{control}: the file is empty or did not arrive; upload it again.", control=control))
    if path.stat().st_size > MAX_UPLOAD_MB * 2**20:
        raise fail(say("{control}: the file is larger than {mb} MB.", control=control, mb=MAX_UPLOAD_MB))
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    if path.suffix.lower() == ".svg" or head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        raise fail(say("{control}: SVG drawings are not supported; upload a {formats} image.", control=control, formats=FORMATS))
    return _decode(path, control)


def _data_url_file(url, control: str) -> str:
    """A base64 `data:` URL (a pasted image) written to a temporary file, still undecoded."""
    import base64

    from .files import new_run_dir

    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise fail(say("{control}: expected an image file.", control=control))
    try:
        data = base64.b64decode(url.split(",", 1)[1], validate=False)
    except ValueError:
        raise fail(say("{control}: the pasted image could not be read.", control=control)) from None
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise fail(say("{control}: the file is larger than {mb} MB.", control=control, mb=MAX_UPLOAD_MB))
    path = new_run_dir() / "pasted.img"  # in the capped output folder, never a growing pile
    path.write_bytes(data)
    return str(path)


def _decode(path: Path, control: str) -> PIL.Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            im = PIL.Image.open(path)
            if im.width * im.height > MAX_PIXELS:
                raise fail(say("{control}: the image is {w}×{h} pixels; the limit is {mp} megapixels.", control=control, w=im.width, h=im.height, mp=MAX_PIXELS // 1_000_000))
            im.seek(0)  # an animation: its first frame
            im.load()
    except gr.Error:
        raise
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise fail(say("{control}: the image is too large to open safely (over {mp} megapixels).", control=control, mp=MAX_PIXELS // 1_000_000)) from None
    except PIL.UnidentifiedImageError:
        raise fail(say("{control}: this file is not an image the app can read; upload a {formats} file.", control=control, formats=FORMATS)) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise fail(say("{control}: the image file is damaged or incomplete; upload it again or use another file.", control=control)) from None
    if im.width < 1 or im.height < 1:
        raise fail(say("{control}: the image has no pixels.", control=control))
    return rgb_on_white(PIL.ImageOps.exif_transpose(im))


def rgb_on_white(im: PIL.Image.Image) -> PIL.Image.Image:
    """Any Pillow mode -> RGB; transparent pixels become white (the training background)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 1.0 if im.mode == "F" and arr.max() <= 1.0 else (255.0 if arr.max() <= 255 else 65535.0)
        im = PIL.Image.fromarray(np.clip(arr / top * 255.0, 0, 255).round().astype(np.uint8), "L")
    if im.mode == "P" and "transparency" in im.info or im.mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        return PIL.Image.alpha_composite(PIL.Image.new("RGBA", im.size, (255, 255, 255, 255)), im).convert("RGB")
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV


def load_image(value, control: str, size: int = SIZE) -> PIL.Image.Image:
    """An upload as the size x size RGB image a model sees (the pipelines' resize rule), except
    the app's own display-size images, which come back exactly (see `shrink_enlargement`)."""
    im = open_image(value, control)
    return shrink_enlargement(im, size) or fit_square(im, size)


def shrink_enlargement(im: PIL.Image.Image, size: int) -> PIL.Image.Image | None:
    """A k-times nearest-neighbour enlargement of a size x size image (every panel and download
    of this app) -> that image, exactly; None for any other image. LANCZOS would blur it: a
    downloaded noisy x_t uploaded back must be the same x_t."""
    k = im.width // size
    if im.size != (size * k, size * k) or k < 2:
        return None
    arr = np.asarray(im)
    small = arr[::k, ::k]
    return PIL.Image.fromarray(small) if np.array_equal(np.repeat(np.repeat(small, k, 0), k, 1), arr) else None


# -------------------------------------------------------------------- masks
class _CheckedEditorData(EditorData):
    """The editor's payload, validated as Gradio does, but a value of the wrong shape (an API
    call sending a string, say) is answered with a sentence, not pydantic's report. The fields,
    and so the check that uploaded paths are Gradio's own, are unchanged."""

    model_config = {**EditorData.model_config, "title": "EditorData"}  # the API's schema stays Gradio's

    @classmethod
    def model_validate(cls, obj, *args, **kwargs):
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError:
            raise fail(say("{control}: expected the editor's value, {{'background': image, 'layers': [mask images]}}.",
                           control="Image + mask")) from None


class MaskEditor(gr.ImageEditor):
    """gr.ImageEditor (the same component in the browser) with that clearer check."""

    is_template = True  # the browser draws it as the ImageEditor it is
    data_model = _CheckedEditorData


# -------------------------------------------------------------------- masks (checks)
def editor_image_and_mask(value, control: str = "Image + mask", size: int = SIZE) -> tuple[PIL.Image.Image, np.ndarray]:
    """The Inpaint editor's value -> (size x size RGB image, size x size float mask, 1 = repaint).

    The mask is every layer's painted (opaque) pixels. A layer must have the background's
    size, or an exact multiple or fraction of it (the editor's display size): it is then
    scaled by that factor. Thin strokes survive the downscale (max-pooling)."""
    if not isinstance(value, dict) or "background" not in value:
        raise fail(say("{control}: expected the editor's value, {{'background': image, 'layers': [mask images]}}.", control=control))
    background = open_image(value.get("background"), control)
    layers = value.get("layers") or []
    if not isinstance(layers, list) or not layers:
        raise fail(say("Paint a mask with the brush: the painted area is what the model redraws (if you have just painted, the stroke may still be on its way: click Inpaint again)."))
    alpha = np.zeros((background.height, background.width), np.float32)
    for layer in layers:
        alpha = np.maximum(alpha, _layer_alpha(layer, background.size, control))
    mask = np.asarray(fit_mask(alpha, size), np.float32)
    if mask.sum() == 0:
        raise fail(say("The mask is empty: paint over the part of the image you want the model to redraw (if you have just painted, the stroke may still be on its way: click Inpaint again)."))
    return shrink_enlargement(background, size) or fit_square(background, size), mask


def _layer_alpha(layer, size: tuple[int, int], control: str) -> np.ndarray:
    if isinstance(layer, dict):
        layer = layer.get("path") or _data_url_file(layer.get("url"), f"{control} (mask layer)")
    if isinstance(layer, np.ndarray):
        im = PIL.Image.fromarray(layer.astype(np.uint8))
    elif isinstance(layer, PIL.Image.Image):
        im = layer
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = _decode_raw(layer, f"{control} (mask layer)")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        alpha = np.asarray(im.convert("RGBA"))[..., 3].astype(np.float32) / 255.0
    else:  # an opaque mask image: white = repaint
        alpha = np.asarray(im.convert("L"), np.float32) / 255.0
    if im.size != size:
        fx, fy = size[0] / im.width, size[1] / im.height
        if not (math.isclose(fx, fy) and (fx.is_integer() or (1 / fx).is_integer())):
            raise fail(say("{control}: the mask is {w}×{h} but the image is {iw}×{ih}; paint the mask on the same image.", control=control, w=im.width, h=im.height, iw=size[0], ih=size[1]))
        alpha = np.asarray(PIL.Image.fromarray((alpha * 255).astype(np.uint8)).resize(size, PIL.Image.NEAREST), np.float32) / 255
    return alpha


def _decode_raw(value, control: str) -> PIL.Image.Image:
    """A mask layer keeps its alpha, so it is decoded without the RGB conversion."""
    path = Path(value) if isinstance(value, (str, Path)) else None
    if path is None or not path.is_file() or path.stat().st_size == 0:
        raise fail(say("{control}: the mask did not arrive; paint it again.", control=control))
    try:
        im = PIL.Image.open(path)
        if im.width * im.height > MAX_PIXELS:
            raise fail(say("{control}: the mask is too large.", control=control))
        im.load()
    except gr.Error:
        raise
    except Exception:
        raise fail(say("{control}: the mask is not a readable image; paint it again.", control=control)) from None
    return PIL.ImageOps.exif_transpose(im)


def fit_mask(alpha: np.ndarray, size: int = SIZE) -> np.ndarray:
    """(H, W) in [0, 1] -> (size, size) in {0, 1}: the pipelines' own mask rule (the image's crop,
    max-pooling so thin strokes survive)."""
    return to_mask_tensor(alpha, alpha.shape, size)[0, 0].numpy()
