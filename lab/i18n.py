"""The UI in English and 简体中文.

Two kinds of text, two paths:
- **Static text** (labels, help lines, explanations, buttons, tab names) is written in English
  in each tab's module. `localize` walks the built page once and hands every text that has a
  translation to Gradio's i18n, which shows it in the browser's language.
- **Text a handler makes** (statuses, notes with this run's numbers, errors, plot and frame
  labels) is written as `say("Step {i} of {n}…", i=..., n=...)`: the English template is the
  key, the values are filled in after translating. The language is the request's
  (Accept-Language), set for the handler's duration by `localized`, which every event gets.

The tables themselves live in `lab/zh.py`. Names of API parameters, samplers and tokens stay as
they are: they are what a caller types.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import re
from collections.abc import Callable

import gradio as gr

from .zh import ZH

KEYS = {k.strip(): k for k in ZH}  # Markdown keeps its text stripped of outer newlines
LANG: contextvars.ContextVar[str] = contextvars.ContextVar("ditlab_lang", default="en")
I18N = gr.I18n(en={k: k for k in ZH}, **{"zh-CN": ZH})
TRANSLATED_ATTRS = ("label", "info", "placeholder")


def key_of(text: str) -> str | None:
    """The table's key for an English text (as written, or as Gradio stripped it), or None."""
    return text if text in ZH else KEYS.get(text.strip())


def lookup(text: str) -> str | None:
    """The Chinese of an English text, or None."""
    key = key_of(text)
    return ZH[key] if key is not None else None


def tr(text: str):
    """`text` as a translatable UI string (English where no translation exists)."""
    return I18N(key_of(text)) if key_of(text) else text


def language(request: gr.Request | None) -> str:
    """"zh" when the browser asks for Chinese first (Accept-Language), else "en"."""
    header = ""
    if request is not None:
        try:
            header = request.headers.get("accept-language", "") or ""
        except AttributeError:
            header = ""
    first = header.split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def say(template: str, **values) -> str:
    """The template in the current request's language, with the values filled in."""
    if LANG.get() == "zh":
        template = lookup(template) or template
    return template.format(**{k: _value(v) for k, v in values.items()}) if values else template


def _value(v):
    """A value that is itself a UI word (a control's name) is translated too."""
    return (lookup(v) or v) if isinstance(v, str) and LANG.get() == "zh" else v


def translate(value, lang: str):
    """A handler's output in `lang`: strings with an exact entry, and the strings of lists
    (table rows); everything else (images, figures, updates) as it is."""
    if lang != "zh":
        return value
    if isinstance(value, str):
        return lookup(value) or value
    if isinstance(value, list):
        return [translate(v, lang) for v in value]
    if isinstance(value, tuple):
        return tuple(translate(v, lang) for v in value)
    return value


def localized(fn: Callable, tables: dict[int, list[str]] | None = None) -> Callable:
    """`fn` as a Gradio handler that speaks the request's language: Gradio passes the request
    (a `request: gr.Request` parameter, added here), `say` reads it while `fn` runs (for a
    generator: while each step of it runs, on whichever worker thread), and the outputs and
    error messages are translated on the way out. `tables`: output position -> the English
    headers of a Dataframe there; its rows go out with the headers in the request's language
    (a table sent as bare rows would show the component's headers, which Gradio does not
    translate after an update)."""
    tables = tables or {}
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    cut = next((i for i, p in enumerate(params) if p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD)), len(params))
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)
    new_sig = sig.replace(parameters=params[:cut] + [request] + params[cut:])

    def split(args, kwargs):
        bound = new_sig.bind(*args, **kwargs)
        lang = language(bound.arguments.pop("request", None))
        return lang, bound.arguments

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            lang, arguments = split(args, kwargs)
            token = LANG.set(lang)
            try:
                gen = fn(**arguments)
            finally:
                LANG.reset(token)
            while True:
                token = LANG.set(lang)
                try:
                    item = next(gen)
                except StopIteration:
                    return
                except gr.Error as e:
                    raise _translated_error(e, lang) from None
                finally:
                    LANG.reset(token)
                yield with_headers(translate(item, lang), tables, lang)
    else:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            lang, arguments = split(args, kwargs)
            token = LANG.set(lang)
            try:
                return with_headers(translate(fn(**arguments), lang), tables, lang)
            except gr.Error as e:
                raise _translated_error(e, lang) from None
            finally:
                LANG.reset(token)

    wrapper.__signature__ = new_sig
    wrapper.__localized__ = True
    wrapper.__annotations__ = {"request": gr.Request}  # only what Gradio must resolve: it finds the request by this hint
    return wrapper


def with_headers(outputs, tables: dict[int, list[str]], lang: str):
    """Each table output (bare rows) as {"headers": ..., "data": rows}, headers in `lang`."""
    if not tables:
        return outputs
    single = not isinstance(outputs, tuple)
    items = [outputs] if single else list(outputs)
    for i, headers in tables.items():
        if i < len(items) and isinstance(items[i], list):
            items[i] = {"headers": [translate(h, lang) for h in headers], "data": items[i]}
    return items[0] if single else tuple(items)


def _translated_error(e: gr.Error, lang: str) -> gr.Error:
    """The error in `lang`: its message was made with `say` already, or is a fixed string."""
    return gr.Error(translate(e.message, lang), duration=e.duration, print_exception=False)


def localize(root: gr.Blocks) -> None:
    """Every static text of the built page that has a translation becomes an i18n key, and every
    event handler speaks the request's language (`localized`). Call it inside the `with
    gr.Blocks()` block, after the tabs are built (the page's config is made on leaving it)."""
    for block_fn in root.fns.values():
        if callable(block_fn.fn) and not getattr(block_fn.fn, "__localized__", False):
            tables = {i: list(o.headers) for i, o in enumerate(block_fn.outputs) if isinstance(o, gr.Dataframe) and o.headers}
            block_fn.fn = localized(block_fn.fn, tables)
    for block in root.blocks.values():
        for attr in TRANSLATED_ATTRS:
            text = getattr(block, attr, None)
            if isinstance(text, str) and key_of(text):
                setattr(block, attr, I18N(key_of(text)))
        if isinstance(block, (gr.Markdown, gr.Button)) and isinstance(block.value, str) and key_of(block.value):
            block.value = str(I18N(key_of(block.value)))
        if isinstance(block, gr.Dataframe) and block.headers:
            block.headers = [I18N(key_of(h)) if key_of(h) else h for h in block.headers]
        if isinstance(block, gr.Dataset):
            # an Examples table's header row repeats its inputs' labels, and Gradio shows a
            # header's i18n key as it is: no header row (the table's label says what it fills)
            block.headers = []


def visible_english(root: gr.Blocks) -> list[str]:
    """Static texts of the page still shown in English in a zh-CN browser: what the test fails on.
    A text counts as English when it has a run of three Latin letters outside code, maths,
    brackets and names that stay English (ENGLISH_KEPT)."""
    missing = []
    for block in root.blocks.values():
        texts = [getattr(block, a, None) for a in TRANSLATED_ATTRS]
        if isinstance(block, (gr.Markdown, gr.Button)):
            texts.append(block.value)
        if isinstance(block, (gr.Dataframe, gr.Dataset)):
            texts += [h for h in block.headers or [] if isinstance(h, str)]
        missing += [t for t in texts if isinstance(t, str) and not t.startswith("__i18n__") and has_english(t)]
    return missing


ENGLISH_KEPT = re.compile(r"`[^`]*`|DPM-Solver\+\+|all-MiniLM-L6-v2|\.png|\$\$.*?\$\$|\$[^$]*\$|\([^()]*\)|\[[^\]]*\]|<[^>]*>|https?://\S+|\{[^{}]*\}|“[^”]*”|"
                          r"\b(DiT|DiTs|MiniLM|PNG|GIF|MP4|RePaint|PixArt|Heun|Euler|UniPC|DDPM|VP|PSNR|SSIM|"
                          r"CFG|ODE|MLP|NFE|RMSE|GFLOP|emoji|Twemoji|Noto|CC-BY|Apache|API|x_t|x_0|dB|px|Transformer|token|tokens|diffusers|"
                          r"seed|Google|Twitter|Chamfer|logit-normal|adaLN-Zero|U-ViT|Inc|CPU|SVG|RGB|euler|heun|dpm|unipc)\b", re.S | re.I)


def has_english(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{3,}", ENGLISH_KEPT.sub(" ", text)))
