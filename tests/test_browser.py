"""End to end in headless Chromium (Debian's, driven by Playwright): load the page, generate,
paint a mask and inpaint, scrub the forward/reverse slider, download a GIF.

Screenshots go to $DITLAB_SCREENSHOT_DIR (README's come from this run), else a temp dir."""

import os
import shutil
import tempfile
from pathlib import Path

import PIL.Image
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def page(app_server):
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed: `apt-get install chromium` (.ci/run does this).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(app_server.url, wait_until="load")
        pg.wait_for_selector("#gen-button")
        yield pg
        browser.close()


@pytest.fixture(scope="module")
def shots():
    d = Path(os.environ.get("DITLAB_SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="ditlab-shots-"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }", arg=[selector, text]
    )


def test_generate(page, shots):
    page.get_by_role("tab", name="1 · Generate").click()
    page.locator("#gen-prompt textarea").fill("grinning face")
    page.locator("#gen-button").click()
    page.wait_for_selector("#gen-gallery img", state="attached")
    page.wait_for_function("document.querySelectorAll('#gen-gallery img').length >= 4")
    page.screenshot(path=shots / "generate.png")


def test_paint_mask_and_inpaint(page, shots):
    page.get_by_role("tab", name="2 · Inpaint").click()
    canvas = page.locator("#inpaint-editor canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 70, cy - 40)
    page.mouse.down()
    for i in range(25):
        page.mouse.move(cx - 70 + 6 * i, cy - 40 + (i % 5) * 6, steps=2)
    page.mouse.up()
    page.locator("#inpaint-button").click()
    wait_text(page, "#inpaint-status", "Largest change outside the mask")
    status = page.locator("#inpaint-status").inner_text()
    assert "exactly unchanged" in status
    page.locator("#inpaint-result img").wait_for()
    page.locator("#inpaint-proposal img").wait_for()  # the per-step view is filled after the run
    page.screenshot(path=shots / "inpaint.png", full_page=True)


def test_scrub_forward_reverse_and_download_gif(page, shots, tmp_path):
    page.get_by_role("tab", name="4 · Forward & reverse").click()
    page.locator("#trace-button").click()
    wait_text(page, "#trace-equations", "Forward")
    assert "step 1 of" in page.locator("#trace-equations").inner_text()
    slider = page.locator("#trace-slider input[type=range]")
    slider.fill("10")  # fires the input event a user's drag fires
    wait_text(page, "#trace-equations", "step 11 of")  # the equations now show step 10's numbers
    page.screenshot(path=shots / "forward_reverse.png")
    page.locator("#export-button").click()
    link = page.locator("#export-file a").first
    link.wait_for()
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "anim.gif"
    info.value.save_as(path)
    with PIL.Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames > 10
