"""Conversions between what users hand in (PIL, numpy, torch) and the model's tensors.

Model space: float32 (N, 3, H, W) in [-1, 1]. Display space: float in [0, 1].
"""

from __future__ import annotations

import numpy as np
import PIL.Image
import torch

ImageInput = PIL.Image.Image | np.ndarray | torch.Tensor


def centre_box(height: int, width: int) -> tuple[int, int, int]:
    """(top, left, side) of the largest centred square: the model is square, and squashing would
    distort shapes. The one crop rule for PIL images, arrays, tensors and masks."""
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side


def centre_square(im: PIL.Image.Image) -> PIL.Image.Image:
    top, left, side = centre_box(im.height, im.width)
    return im.crop((left, top, left + side, top + side)) if im.width != im.height else im


def fit_square(im: PIL.Image.Image, size: int) -> PIL.Image.Image:
    """The one resize rule for images everywhere (training data, pipelines, app uploads):
    centre square, then LANCZOS to size x size."""
    im = centre_square(im)
    return im if im.size == (size, size) else im.resize((size, size), PIL.Image.LANCZOS)


def centre_square_array(arr: np.ndarray | torch.Tensor, axes: tuple[int, int] = (0, 1)) -> np.ndarray | torch.Tensor:
    """The centred square of an array or tensor along its two spatial `axes`."""
    top, left, side = centre_box(arr.shape[axes[0]], arr.shape[axes[1]])
    index = [slice(None)] * arr.ndim
    index[axes[0]], index[axes[1]] = slice(top, top + side), slice(left, left + side)
    return arr[tuple(index)]


def to_unit_tensor(image: ImageInput | list, size: int) -> torch.Tensor:
    """Any image(s) -> (N, 3, size, size) float32 in [0, 1].

    PIL images and uint8 arrays are read as 0..255; float arrays as [0, 1] (H, W, 3) or
    (N, H, W, 3); torch tensors as (N, 3, H, W) or (3, H, W) in [0, 1]. Transparent pixels
    are put on white (the training data's background); other sizes take `fit_square`'s rule
    (arrays and tensors: centre square, then bicubic with antialiasing).
    """
    if isinstance(image, list):
        if not image:
            raise ValueError("Got an empty list of images; pass at least one image.")
        return torch.cat([to_unit_tensor(i, size) for i in image])
    if isinstance(image, PIL.Image.Image):
        im = image
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            im = PIL.Image.alpha_composite(PIL.Image.new("RGBA", im.size, (255, 255, 255, 255)), im)
        im = fit_square(im.convert("RGB"), size)
        return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    if isinstance(image, np.ndarray):
        arr = image
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        arr = np.asarray(arr, dtype=np.float32)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
            raise ValueError(f"Expected an image array shaped (H, W, 3) or (N, H, W, 3), got {image.shape}.")
        if arr.shape[-1] == 4:
            alpha = arr[..., 3:]
            arr = arr[..., :3] * alpha + (1.0 - alpha)
        t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2)
    elif torch.is_tensor(image):
        t = image.detach().float().cpu()
        if t.ndim == 3:
            t = t.unsqueeze(0)
        if t.ndim != 4 or t.shape[1] != 3:
            raise ValueError(f"Expected an image tensor shaped (3, H, W) or (N, 3, H, W), got {tuple(image.shape)}.")
    else:
        raise ValueError(f"Unsupported image type {type(image).__name__}: pass a PIL image, a numpy array or a torch tensor.")
    t = centre_square_array(t, axes=(-2, -1))
    if t.shape[-1] != size or t.shape[-2] != size:
        t = torch.nn.functional.interpolate(t, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
    return t.clamp(0.0, 1.0)


def to_mask_tensor(mask: ImageInput, image_hw: tuple[int, int], size: int) -> torch.Tensor:
    """A mask -> (1, 1, size, size) float in {0, 1}; white (>= 0.5) = repaint.

    The mask must have the size of the image it belongs to: a mismatch is almost always
    a mask painted on another image, so it is an error rather than a silent resize.
    """
    if isinstance(mask, PIL.Image.Image):
        if mask.mode == "RGBA":
            # a brush layer: painted where opaque
            arr = np.asarray(mask, dtype=np.float32)[..., 3] / 255.0
        else:
            arr = np.asarray(mask.convert("L"), dtype=np.float32) / 255.0
    elif isinstance(mask, np.ndarray):
        arr = mask.astype(np.float32) / (255.0 if mask.dtype == np.uint8 else 1.0)
        if arr.ndim == 3:
            arr = arr.max(axis=-1)
    elif torch.is_tensor(mask):
        arr = mask.detach().float().cpu().numpy().squeeze()
        if arr.ndim == 3:
            arr = arr.max(axis=0)
    else:
        raise ValueError(f"Unsupported mask type {type(mask).__name__}: pass a PIL image, a numpy array or a torch tensor.")
    if arr.ndim != 2:
        raise ValueError(f"The mask must be one 2-D image (H, W); got shape {arr.shape}.")
    if tuple(arr.shape) != tuple(image_hw):
        raise ValueError(
            f"mask_image is {arr.shape[1]}x{arr.shape[0]} but the image is {image_hw[1]}x{image_hw[0]}: "
            "paint the mask on the same image (same width and height)."
        )
    t = torch.from_numpy(np.ascontiguousarray(centre_square_array(arr)))[None, None]  # the image's crop
    if t.shape[-1] != size:
        # nearest keeps it binary; max-pooling first makes thin strokes survive a downscale
        t = torch.nn.functional.adaptive_max_pool2d(t, size) if t.shape[-1] > size else torch.nn.functional.interpolate(t, size=(size, size), mode="nearest")
    return (t >= 0.5).float()


def image_hw(image: ImageInput) -> tuple[int, int]:
    if isinstance(image, PIL.Image.Image):
        return image.height, image.width
    if isinstance(image, np.ndarray):
        return tuple(image.shape[-3:-1]) if image.shape[-1] in (3, 4) else tuple(image.shape[-2:])
    if torch.is_tensor(image):
        return tuple(image.shape[-2:])
    raise ValueError(f"Unsupported image type {type(image).__name__}.")


def unit_to_output(x01: torch.Tensor, output_type: str):
    """(N, 3, H, W) in [0, 1] -> 'pt' tensor, 'np' (N, H, W, 3) float32, or 'pil' list."""
    if output_type == "pt":
        return x01
    arr = x01.permute(0, 2, 3, 1).float().cpu().numpy()
    if output_type == "np":
        return arr
    if output_type == "pil":
        return [PIL.Image.fromarray(np.round(a * 255.0).astype(np.uint8)) for a in arr]
    raise ValueError(f"Unknown output_type {output_type!r}; use 'pil', 'np' or 'pt'.")


def model_to_unit(x: torch.Tensor) -> torch.Tensor:
    return ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def unit_to_model(x01: torch.Tensor) -> torch.Tensor:
    return x01 * 2.0 - 1.0
