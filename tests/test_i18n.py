"""The zh-CN UI: every visible static text has a translation, the translations are Chinese, and
what handlers say (statuses, notes, errors, plot labels) comes in the browser's language."""

import re
import string

import gradio as gr
import pytest

from lab import compare, denoise, generate, race
from lab.i18n import ZH, has_english, language, localized, visible_english
from lab.runtime import MODELS, example_images

ZH_REQUEST = gr.Request(headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"})
EN_REQUEST = gr.Request(headers={"accept-language": "en-GB,en;q=0.9"})


def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_visible_english_text_of_the_built_page_is_translated():
    """Walks the built Blocks (labels, help lines, Markdown, buttons, tab names, table headers):
    any English text without a zh-CN entry fails, named."""
    import app

    assert visible_english(app.demo) == []


def test_the_table_is_chinese_and_keeps_every_number():
    english = [v for v in ZH.values() if has_english(v)]
    assert english == [], english[:5]
    for en, zh in ZH.items():
        assert fields(zh) <= fields(en), en  # a translation may drop a plural "s", never invent a value


def test_the_english_check_catches_english():
    assert has_english("Pick 4 to 8.") and has_english("**Reading the plot.** Each line") and not has_english("随机种子 (seed)")


def test_language_from_the_request():
    assert language(ZH_REQUEST) == "zh" and language(EN_REQUEST) == "en" and language(None) == "en"


def visible_strings(outputs) -> list[str]:
    out = []
    for item in outputs if isinstance(outputs, tuple) else (outputs,):
        if isinstance(item, str) and not re.fullmatch(r"[\w./-]+\.(png|gif|mp4)", item):
            out.append(item)
        if isinstance(item, list):
            out += [c for row in item if isinstance(row, list) for c in row if isinstance(c, str)]
    return out


@pytest.mark.usefixtures("tiny_runtime")
def test_handlers_speak_the_browsers_language():
    """Generate's statuses, Denoise's notes and table, Compare's words, the race's verdict: Chinese
    for a zh-CN browser (no English outside names that stay English), English otherwise."""
    runs = [
        *(list(localized(generate.generate)("red apple", "", 0, False, 3, 3.0, "euler", 1, m, request=ZH_REQUEST)) for m in MODELS),
        *(list(localized(denoise.denoise)(str(example_images()[1]), 0.5, False, 6, 0, "", m, request=ZH_REQUEST)) for m in MODELS),
        [localized(compare.compare)("cat face", "dog face", 0, 4, 3.0, "euler", request=ZH_REQUEST)],
        [localized(race.race)("cat face", 0, 4, 2.0, progress=lambda *a, **k: None, request=ZH_REQUEST)],
    ]
    texts = [t for run in runs for outputs in run for t in visible_strings(outputs) if t]
    assert len(texts) > 8
    assert [t for t in texts if has_english(t)] == []
    assert any("完成" in t for t in texts) and any("分道扬镳" in t for t in texts)
    english = list(localized(generate.generate)("red apple", "", 0, False, 3, 3.0, "euler", 1, request=EN_REQUEST))
    assert any("Done: 3 steps" in t for outputs in english for t in visible_strings(outputs))


@pytest.mark.usefixtures("tiny_runtime")
def test_errors_and_figures_in_chinese():
    with pytest.raises(gr.Error, match="第二个提示词.*请先输入内容"):
        localized(compare.compare)("cat face", "", 0, 4, 3.0, "euler", request=ZH_REQUEST)
    with pytest.raises(gr.Error, match="步数.*必须是整数"):
        localized(compare.compare)("cat face", "dog", 0, 4.5, 3.0, "euler", request=ZH_REQUEST)
    fig = localized(race.race)("cat face", 0, 4, 2.0, progress=lambda *a, **k: None, request=ZH_REQUEST)[1]
    ax = fig.axes[0]
    assert "误差" in ax.get_title() and "模型调用次数" in ax.get_xlabel()
    assert all("阶数" in t.get_text() for t in ax.get_legend().get_texts())


@pytest.mark.usefixtures("tiny_runtime")
def test_tables_go_out_with_headers_in_the_browsers_language():
    """A table sent as bare rows would show the component's i18n key as its header: the app's
    handlers send their tables with the headers in the request's language."""
    import app

    fn = next(bf for bf in app.demo.fns.values() if bf.api_name == "race").fn
    zh = fn("cat face", 0, 4, 2.0, progress=lambda *a, **k: None, request=ZH_REQUEST)[2]
    en = fn("cat face", 0, 4, 2.0, progress=lambda *a, **k: None, request=EN_REQUEST)[2]
    assert zh["headers"] == ["求解器", "步数", "NFE", "RMSE", "实测阶数"] and en["headers"][4] == "measured order"
    assert [r[0] for r in zh["data"]] == ["euler", "heun", "dpm++2m", "unipc"]


@pytest.mark.usefixtures("tiny_runtime")
def test_the_model_drawing_speaks_the_visitors_language():
    from lab import explain

    draw = localized(explain.architecture)
    zh, en = draw("pixel", request=ZH_REQUEST), draw("pixel", request=EN_REQUEST)
    assert "带噪图像" in zh and "参数量" in zh and "noisy image" not in zh
    assert "noisy image" in en and "Parameters" in en
    assert "带噪潜变量" in draw("latent", request=ZH_REQUEST)


def said_templates() -> list[tuple[str, str]]:
    """(module, template) of every `say(...)` in lab/ whose template is a string literal or a
    module-level string constant: the texts handlers make, found without running them."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted(Path(generate.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        consts = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                  and isinstance(n.value.value, str) for t in n.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((path.name, arg.value))
                elif isinstance(arg, ast.Name) and arg.id in consts:
                    found.append((path.name, consts[arg.id]))
    return found


def test_every_template_a_handler_says_has_a_translation():
    templates = said_templates()
    assert len(templates) > 100  # the walk finds them (a broken walk would pass on nothing)
    missing = [(m, t[:70]) for m, t in templates if t not in ZH and t.strip() not in ZH]
    assert missing == [], missing
