"""The UI in English and 简体中文, chosen by the browser's language (Gradio's i18n).

Keys are the English texts themselves, so a text without a translation shows in English.
Only texts that are no API parameter name are translated (tabs, buttons, notes, help lines):
an input's label names its parameter in the API, which stays English for every caller.
"""

from __future__ import annotations

import gradio as gr

ZH = {
    "1 · Generate": "1 · 生成",
    "2 · Inpaint": "2 · 局部重绘",
    "3 · Denoise": "3 · 去噪",
    "4 · Forward & reverse": "4 · 前向与反向",
    "5 · How it works": "5 · 原理",
    "6 · Explore": "6 · 探索",
    "Generate": "生成",
    "Stop": "停止",
    "Inpaint": "重绘",
    "Add noise and denoise": "加噪并去噪",
    "Run": "运行",
    "▶ Play / ⏸ Pause": "▶ 播放 / ⏸ 暂停",
    "Export animation": "导出动画",
    "Show attention": "显示注意力",
    "Prompts must be in English: the text encoder (MiniLM) has no Chinese vocabulary.":
        "提示词必须使用英文：文本编码器（MiniLM）的词表中没有中文。",
    "What to draw, in English: an emoji name or everyday words. Add “noto style” or “twemoji style” to pick a look.":
        "要画什么（英文）：表情名称或日常用语。加上 “noto style” 或 “twemoji style” 可选择风格。",
    "Same seed + same settings = same image.": "相同的种子 + 相同的设置 = 相同的图像。",
    "How many denoising steps: more = finer, slower.": "去噪步数：越多越精细，也越慢。",
    "How strongly to follow the prompt (1 = not guided).": "遵循提示词的强度（1 = 不使用引导）。",
    "The ODE solver that walks from noise to image.": "从噪声走到图像的常微分方程求解器。",
    "0 = clean, 1 = pure noise.": "0 = 干净，1 = 纯噪声。",
}

I18N = gr.I18n(en={k: k for k in ZH}, **{"zh-CN": ZH})


def tr(text: str):
    """`text` as a translatable UI string (English where no translation exists)."""
    return I18N(text) if text in ZH else text
