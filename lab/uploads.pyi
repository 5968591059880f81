"""Upload components that hand the handler the uploaded file's path undecoded, so that the
app's input gate (lab.inputs) decodes it and words every error. Gradio's own decoding would
answer a damaged or non-image file with a long internal message that shows server paths."""

from __future__ import annotations

import gradio as gr
from gradio import image_utils

from gradio.events import Dependency

class UploadImage(gr.Image):
    is_template = True  # the browser shows the ordinary Image component

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):  # a base64 upload: written to a file, still undecoded
            return image_utils.decode_base64_to_file(payload.url, self.GRADIO_CACHE, "png")
        return payload.path
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


class EditorImage(gr.ImageEditor):
    is_template = True  # the browser shows the ordinary ImageEditor

    def preprocess(self, payload):
        if payload is None:
            return None
        path = lambda f: None if f is None else getattr(f, "path", f)  # noqa: E731
        return {"background": path(payload.background), "layers": [path(f) for f in payload.layers or []],
                "composite": path(payload.composite)}
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component