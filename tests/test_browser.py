"""End to end in headless Chromium (Debian's, driven by Playwright): load the page, generate,
paint a mask and inpaint, scrub the forward/reverse slider, check the panels are shown whole,
download a labelled GIF; and the page at phone width.

Without Chromium these tests skip with one line; DITLAB_REQUIRE_BROWSER=1 (set by .ci/run,
which installs Chromium) turns that skip into a failure. Screenshots go to
$DITLAB_SCREENSHOT_DIR (the README's come from this run), else a temp dir."""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("DITLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (DITLAB_REQUIRE_BROWSER=1) but not installed: `apt-get install chromium`.")
        pytest.skip("Chromium is not installed (`apt-get install chromium` runs the browser tests; .ci/run does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser, url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    pg.goto(url, wait_until="load")
    pg.wait_for_selector("#gen-button")
    return pg


@pytest.fixture(scope="module")
def page(browser, app_server):
    pg = open_page(browser, app_server.url, 1280, 800)
    yield pg
    pg.context.close()


@pytest.fixture(scope="module")
def shots():
    d = Path(os.environ.get("DITLAB_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="ditlab-shots-"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }", arg=[selector, text]
    )


def wait_image(page, selector: str) -> None:
    """Until the image in `selector` has arrived and is decoded (its size is known)."""
    page.locator(f"{selector} img").wait_for()
    page.wait_for_function("(s) => document.querySelector(s + ' img').complete", arg=selector)


def shown_whole(page, selector: str) -> None:
    """The image is drawn at least 120 px wide and no part of it is cut off by its box."""
    ok = page.evaluate(
        """(s) => { const img = document.querySelector(s + ' img'); if (!img) return 'no image';
           const r = img.getBoundingClientRect(); let e = img.parentElement;
           while (e && e !== document.body) { const b = e.getBoundingClientRect(); const st = getComputedStyle(e);
             if (st.overflow !== 'visible' && (r.top < b.top - 1 || r.bottom > b.bottom + 1)) return 'cut by ' + e.className;
             e = e.parentElement; }
           return r.width >= 120 ? 'ok' : 'width ' + r.width; }""", selector)
    assert ok == "ok", f"{selector}: {ok}"


def test_generate_above_the_fold(page, shots):
    page.get_by_role("tab", name="1 · Generate").click()
    assert page.locator("#gen-button").bounding_box()["y"] + 40 < 800  # the button is visible without scrolling
    page.locator("#gen-prompt textarea").fill("grinning face")
    page.locator("#gen-button").click()
    wait_text(page, "#gen-status", "Done")
    page.wait_for_function("document.querySelectorAll('#gen-gallery img').length >= 4")
    assert "steps done" in page.locator("#gen-scrub-info").inner_text()  # the scrubber is filled too
    page.screenshot(path=shots / "generate.png")
    wait_text(page, "#prompt-reading", "Word pieces")  # how the model reads the prompt (its vocabulary encodes at start-up)


def test_compare_two_prompts(page, shots):
    page.get_by_role("tab", name="1 · Generate").click()
    page.locator("#cmp-accordion").click()
    page.locator("#cmp-button").click()
    wait_text(page, "#cmp-status", "part ways at")
    wait_image(page, "#cmp-strip")
    shown_whole(page, "#cmp-strip")
    page.locator("#cmp-slider input[type=range]").fill("2")
    wait_text(page, "#cmp-step-info", "Step 2 of")
    page.locator("#cmp-step-info").scroll_into_view_if_needed()
    page.screenshot(path=shots / "compare.png", full_page=True)


def test_paint_mask_and_inpaint(page, shots):
    page.get_by_role("tab", name="2 · Inpaint").click()
    assert page.locator("#inpaint-button").bounding_box()["y"] + 40 < 800
    canvas = page.locator("#inpaint-editor canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 70, cy - 40)
    page.mouse.down()
    for i in range(25):
        page.mouse.move(cx - 70 + 6 * i, cy - 40 + (i % 5) * 6, steps=2)
    page.mouse.up()
    page.locator("#inpaint-button").click()  # at once, as a fast user would
    try:
        wait_text(page, "#inpaint-status", "Largest change outside the mask")
    except Exception:
        page.screenshot(path=shots / "inpaint_failure.png", full_page=True)
        raise AssertionError("inpaint did not finish; page says: " + page.locator("body").inner_text()[-1500:])
    assert "exactly unchanged" in page.locator("#inpaint-status").inner_text()
    page.locator("#inpaint-merged img").wait_for()  # the per-step view is filled after the run
    shown_whole(page, "#inpaint-result")  # the result is shown enlarged, not at 32 px
    page.screenshot(path=shots / "inpaint.png", full_page=True)


def test_scrub_forward_reverse_and_download_gif(page, shots, tmp_path):
    page.get_by_role("tab", name="4 · Forward & reverse").click()
    page.locator("#trace-button").click()
    wait_text(page, "#trace-equations", "Forward")
    assert "step 1 of 20" in page.locator("#trace-equations").inner_text()
    page.locator("#trace-slider input[type=range]").fill("10")  # fires the input event a user's drag fires
    wait_text(page, "#trace-equations", "step 11 of 20")
    assert "10 of 20 steps done" in page.locator("#trace-position").inner_text()
    shown_whole(page, "#trace-uncond")  # the guidance panels are whole
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("#trace-forward").bounding_box()
    assert box["y"] + box["height"] <= 800, box  # Play is seen moving the pictures: they are above the fold
    page.screenshot(path=shots / "forward_reverse.png", full_page=True)
    page.locator("#export-button").click()
    link = page.locator("#export-file a").first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "anim.gif"
    info.value.save_as(path)
    with PIL.Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 21
        top = np.asarray(im.convert("RGB"))[:24]
    assert (top < 100).any()  # a title line is drawn into every frame
    page.locator("#trace-button").click()  # a new run: the old export is no longer listed
    page.wait_for_function("document.querySelectorAll('#export-file a').length === 0")


def test_attention_tiles_whole_with_legend(page, shots):
    page.get_by_role("tab", name="5 · How it works").click()
    page.locator("#attention-button").click()
    page.locator("#attention-tiles img").wait_for()
    page.locator("#attention-legend img").wait_for()
    shown_whole(page, "#attention-tiles")
    page.locator("#attention-tiles").scroll_into_view_if_needed()
    page.screenshot(path=shots / "attention.png")


def test_phone_width(browser, app_server, shots):
    pg = open_page(browser, app_server.url, 400, 860)
    try:
        # every tab is reachable directly (none hidden behind an overflow menu)
        for name in ("1 · Generate", "3 · Denoise", "4 · Forward & reverse", "5 · How it works"):
            assert pg.get_by_role("tab", name=name).is_visible(), name
        pg.screenshot(path=shots / "phone_generate.png", full_page=False)
        pg.get_by_role("tab", name="4 · Forward & reverse").click()
        pg.locator("#trace-button").click()
        wait_text(pg, "#trace-equations", "Forward")
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 410  # nothing makes the whole page scroll sideways
        pg.wait_for_selector("#trace-equations .katex")  # typeset
        cut = pg.evaluate("""() => [...document.querySelectorAll('#trace-equations .katex-display, #trace-equations .katex')]
                             .filter(e => e.scrollWidth > e.clientWidth + 1).length""")
        assert cut == 0  # every equation fits the phone's width: none is cut or hidden in a scroll box
        pg.locator("#trace-equations").scroll_into_view_if_needed()
        pg.screenshot(path=shots / "phone_forward_reverse.png")
    finally:
        pg.context.close()


def test_chinese_browser_gets_the_chinese_ui(browser, app_server, shots):
    """A zh-CN browser: the page, Explore and a run's status in Chinese; the visible text of the
    Generate tab has no English sentence left (prompts and API names aside)."""
    from lab.i18n import has_english

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    try:
        pg.goto(app_server.url, wait_until="load")
        pg.wait_for_selector("#gen-button")
        assert pg.get_by_role("tab", name="1 · 生成").is_visible()
        body = pg.locator("body").inner_text()
        assert "提示词必须使用英文" in body and "看一个扩散模型如何工作" in body
        wait_text(pg, "#prompt-reading", "词片")  # how the model reads the prompt, filled on load, in Chinese
        pg.locator("#gen-button").click()
        wait_text(pg, "#gen-status", "完成")
        pg.wait_for_function("document.querySelectorAll('#gen-gallery img').length >= 4")
        lines = [l for l in pg.locator("body").inner_text().splitlines() if l.strip()]
        assert "__i18n__" not in pg.locator("body").inner_text()  # no raw translation key shown anywhere
        kept = ("red apple", "ditlab-", "python -m")  # the prompt (user input), download file names, commands
        english = [l for l in lines if has_english(l) and not any(k in l for k in kept)]
        assert not [l for l in english if len(l) > 25], english[:10]  # long English lines = untranslated text
        pg.screenshot(path=shots / "zh_generate.png", full_page=True)
        pg.get_by_role("tab", name="5 · 原理").click()
        # the model drawing, drawn again in the visitor's language: "带噪图像" or, on the latent model, "带噪潜变量"
        wait_text(pg, "#architecture", "带噪")
        pg.get_by_role("tab", name="6 · 探索").click()
        pg.get_by_role("tab", name="采样器赛跑").click()
        assert pg.get_by_role("button", name="开始赛跑").is_visible()
        assert "__i18n__" not in pg.locator("body").inner_text()  # the race table's headers, before any run
    finally:
        context.close()


def test_explore_views(page, shots):
    page.get_by_role("tab", name="6 · Explore").click()
    page.get_by_role("tab", name="Sampler race").click()
    page.locator("#race-button").click()
    page.locator("#race-images img").wait_for()
    shown_whole(page, "#race-images")
    page.screenshot(path=shots / "sampler_race.png", full_page=True)
    page.get_by_role("tab", name="A flow in 2-D").click()
    page.locator("#flow-button").click()
    wait_text(page, "#flow-note", "Chamfer")
    page.screenshot(path=shots / "flow_2d.png", full_page=True)
    page.get_by_role("tab", name="Watch it learn").click()
    page.locator("#learn-button").click()
    wait_text(page, "#learn-status", "steps, ")  # the first refresh has streamed in
    page.screenshot(path=shots / "watch_it_learn.png", full_page=True)
    page.get_by_role("tab", name="Two paths to noise").click()
    page.locator("#paths-button").click()
    wait_text(page, "#paths-text", "VP")
    page.screenshot(path=shots / "two_paths.png", full_page=True)
    page.get_by_role("tab", name="The autoencoder").click()
    page.locator("#ae-button").click()
    wait_text(page, "#ae-note", "dB")
    wait_image(page, "#ae-latents")
    shown_whole(page, "#ae-latents")
    shown_whole(page, "#ae-recon")
    page.screenshot(path=shots / "autoencoder.png", full_page=True)
    page.get_by_role("tab", name="Two spaces").click()
    page.locator("#spaces-button").click()
    wait_text(page, "#spaces-note", "the pixels")
    wait_image(page, "#spaces-strip")
    shown_whole(page, "#spaces-strip")
    assert "64×64" in page.locator("#spaces-table").inner_text()
    page.screenshot(path=shots / "two_spaces.png", full_page=True)


def natural_width(page, selector: str) -> int:
    return page.evaluate("(s) => document.querySelector(s).naturalWidth", selector)


def test_every_tab_on_the_other_model(browser, app_server, shots):
    """A page of its own: choose the model that is not the default at the top, and every model tab
    runs it: the cost line, Generate's 64-px images, an exact inpaint, Denoise's latent noise,
    Forward & reverse in latents (channels and z), the model drawing, attention, the race."""
    pg = open_page(browser, app_server.url, 1280, 800)
    try:
        choice = pg.locator("#model-choice")
        wait_text(pg, "#model-cost", "GFLOP")
        default_cost = pg.locator("#model-cost").inner_text()
        other = choice.locator("label").filter(has_not=pg.locator("input:checked")).first
        other.click()
        # the line names the other model's image size once its change event is done (it loads that model first)
        pg.wait_for_function("(t) => { const s = document.querySelector('#model-cost').innerText.trim(); "
                             "return s.includes('GFLOP') && !s.includes(t) && !s.includes('processing'); }", arg=default_cost.strip()[:12])
        cost = pg.locator("#model-cost").inner_text()
        latent = "from latents" in cost
        assert latent != ("from latents" in default_cost), (default_cost, cost)
        size = 64 if latent else 32
        pg.locator("#gen-button").click()
        wait_text(pg, "#gen-status", "Done")
        pg.wait_for_function("document.querySelectorAll('#gen-gallery img').length >= 4")
        pg.wait_for_function("document.querySelector('#gen-gallery img').complete")
        assert natural_width(pg, "#gen-gallery img") == size
        pg.screenshot(path=shots / f"generate_{size}px.png")
        pg.get_by_role("tab", name="2 · Inpaint").click()
        canvas = pg.locator("#inpaint-editor canvas").first
        canvas.wait_for()
        box = canvas.bounding_box()
        pg.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
        pg.mouse.down()
        pg.mouse.move(box["x"] + box["width"] * 2 / 3, box["y"] + box["height"] / 2, steps=12)
        pg.mouse.up()
        pg.locator("#inpaint-button").click()
        wait_text(pg, "#inpaint-status", "Largest change outside the mask")
        assert "exactly unchanged" in pg.locator("#inpaint-status").inner_text()
        pg.get_by_role("tab", name="3 · Denoise").click()
        pg.locator("#denoise-button").click()
        wait_text(pg, "#denoise-note", "scheduled steps")
        assert ("latent z₀" in pg.locator("#denoise-note").inner_text()) == latent
        pg.get_by_role("tab", name="4 · Forward & reverse").click()
        pg.locator("#trace-button").click()
        wait_text(pg, "#trace-equations", "Forward")
        pg.locator("#trace-slider input[type=range]").fill("10")
        wait_text(pg, "#trace-equations", "step 11 of 20")
        assert ("latent model" in pg.locator("#trace-position").inner_text()) == latent
        pg.screenshot(path=shots / f"forward_reverse_{size}px.png", full_page=True)
        pg.get_by_role("tab", name="5 · How it works").click()
        assert (f"{'z' if latent else 'x'}_t: {16 if latent else 32}" in pg.locator("#architecture").inner_text())
        pg.locator("#attention-button").click()
        pg.locator("#attention-tiles img").wait_for()
        assert natural_width(pg, "#attention-legend img") > 100
        pg.get_by_role("tab", name="6 · Explore").click()
        pg.get_by_role("tab", name="Sampler race").click()
        pg.locator("#race-button").click()
        wait_text(pg, "#race-verdict", "steps")
    finally:
        pg.context.close()


def test_an_input_error_leaves_no_old_status(page):
    """Last in the file: it leaves Generate's outputs in Gradio's error state. After a run, an
    input error shows the red message with no status of the previous run beside it."""
    page.get_by_role("tab", name="1 · Generate").click()
    page.locator("#gen-button").click()
    wait_text(page, "#gen-status", "Done")
    page.locator("#gen-prompt textarea").fill("")
    page.locator("#gen-button").click()
    page.wait_for_function("!document.querySelector('#gen-status').innerText.includes('Done')")
