"""The web page at `/`, driven in a real headless Chromium (Debian's chromium + chromium-driver, Selenium 4).

Each test serves a tiny run through the real app (conftest's `live_server`: uvicorn on 127.0.0.1, a free port),
clicks the page like a user, and checks what the browser rendered: image sizes (naturalWidth/Height) and pixels
read back through a canvas. `GANKIT_SCREENSHOT=path [GANKIT_SCREENSHOT_RUN=run]` also writes the docs' screenshot.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

WEB = Path(__file__).resolve().parents[2] / "gankit" / "serve" / "web"
KINDS = ("cgan", "style", "sr", "inpaint", "stargan")  # the tiny runs of tests/serve/conftest.py the page is tried on
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium") if p and os.path.exists(p)), None)
DRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and os.path.exists(p)), None)
KEY = "page-test-key"



def test_page_files_load_nothing_from_another_origin():
    files = {p.name: p.read_text() for p in WEB.iterdir() if p.suffix in (".html", ".js", ".css")}
    assert set(files) == {"index.html", "app.js", "style.css"}
    for name, text in files.items():
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text, re.I), f"{name} names an external URL"
        assert not re.search(r"@import|url\(\s*['\"]?(?!data:)", text), f"{name} fetches a stylesheet resource"
        assert len(text.splitlines()) < 420, f"{name} is too long to review"
    refs = re.findall(r"""(?:src|href)=["']([^"']+)""", files["index.html"])
    assert refs and all(r.startswith(("static/", "data:")) or r in ("docs", "v1/model") for r in refs), refs
    html = files["index.html"]
    controls = re.findall(r"<(input|select|textarea|canvas|button)\b([^>]*)>([^<]*)", html)
    labelled = set(re.findall(r"<label\b[^>]*\bfor=\"([^\"]+)\"", html))
    ids = {re.search(r'\bid="([^"]+)"', attrs).group(1): (tag, attrs, text) for tag, attrs, text in controls}
    assert len(ids) == len(controls), "a control without an id"
    for needed in ("n", "seed", "random-seed", "psi", "class", "generate", "seed-from", "seed-to", "steps", "interpolate",
                   "row-seeds", "col-seeds", "layers", "style-mix", "upload", "fit", "target-class", "brush", "translate", "api-key"):  # fmt: skip
        assert needed in ids, f"no control #{needed}"
    unnamed = [i for i, (tag, attrs, text) in ids.items()
               if i not in labelled and "aria-label=" not in attrs and not (tag == "button" and text.strip())]  # fmt: skip
    assert not unnamed, f"controls without an accessible name (label for=, text or aria-label): {unnamed}"



@pytest.fixture(scope="session")
def serve(request, live_server, tmp_path_factory):  # noqa: ANN001, ANN201
    """serve(kind, api_key=False) -> "http://127.0.0.1:PORT/": the real app (tests/serve/conftest.py's live_server)
    on a tiny run of that kind (cgan, style, sr, inpaint, stargan), or on a run folder given by path."""
    from gankit.cli import main

    carded: list[Path] = []

    def run_of(kind: str) -> Path:
        if kind != "cgan":
            return request.getfixturevalue(f"{kind}_run") if kind in KINDS else Path(kind)
        if not carded:  # a copy of the shared run, with a real `gankit eval` report for the model card's metrics
            carded.append(Path(shutil.copytree(request.getfixturevalue("cgan_run"), tmp_path_factory.mktemp("card") / "cgan")))
            assert main(["eval", str(carded[0]), "--metrics", "fid", "--n", "64"]) == 0
        return carded[0]

    def get(kind: str, api_key: bool = False) -> str:
        return live_server(run_of(kind), **({"api_key": KEY} if api_key else {})).rstrip("/") + "/"

    return get


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("Chromium / chromedriver are not installed (Debian: apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100",
                "--disable-extensions", "--no-first-run", "--disable-background-networking"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


PIXELS_JS = """const img = arguments[0], c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
const d = ctx.getImageData(0, 0, c.width, c.height).data, out = [];
for (let i = 0; i < d.length; i += 4) out.push(d[i]);
return [c.width, c.height, out];"""


def _el(driver, id_: str):  # noqa: ANN001, ANN202
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, id_)


def _wait(driver, cond, what: str, timeout: float = 30.0, errors_fail: bool = True):  # noqa: ANN001, ANN202
    """Wait for cond(driver); fail at once with the page's own error message if it shows one (errors_fail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond(driver)
        if got:
            return got
        err = _el(driver, "error")
        if errors_fail and err.is_displayed() and err.text:
            pytest.fail(f"the page showed an error while waiting for {what}: {err.text}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _version(driver, id_: str) -> int:  # noqa: ANN001
    return int(_el(driver, id_).get_attribute("data-version") or 0)


def _after(driver, id_: str, before: int, action) -> None:  # noqa: ANN001
    """Run a UI action and wait until the image #id_ shows a new response."""
    action()
    _wait(driver, lambda d: _version(d, id_) > before and _el(d, id_).get_property("complete"), f"a new #{id_}")


def _pixels(driver, id_: str) -> np.ndarray:  # noqa: ANN001
    w, h, red = driver.execute_script(PIXELS_JS, _el(driver, id_))
    return np.asarray(red, np.int16).reshape(h, w)


def _open(driver, url: str, first_grid: bool = True, errors_fail: bool = True) -> None:  # noqa: ANN001
    """Load the page; a generator's page generates a grid on load (wait for it).

    errors_fail=False where an error on load is expected (a 401 can show before readyState is complete)."""
    driver.get(url)
    ready = lambda d: d.execute_script("return document.readyState") == "complete"  # noqa: E731
    _wait(driver, ready, "the page", errors_fail=errors_fail)
    if first_grid:
        _wait(driver, lambda d: _version(d, "grid") >= 1, "the first grid")


def _type(driver, id_: str, text: str) -> None:  # noqa: ANN001
    _el(driver, id_).clear()
    _el(driver, id_).send_keys(text)


def _upload(driver, path: Path) -> None:  # noqa: ANN001
    _el(driver, "upload").send_keys(str(path))
    _wait(driver, lambda d: _el(d, "upload").get_attribute("data-loaded"), "the upload to be read")


def _red(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))[..., 0].astype(np.int16)


def _api(url: str, path: str, body: dict) -> bytes:
    """The body of a POST to the API, sent outside the browser."""
    req = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return res.read()


def _api_grid(url: str, body: dict) -> np.ndarray:
    return _red(_api(url, "v1/generate", body))


def _grid_px(n: int) -> int:
    return int(np.ceil(np.sqrt(n))) * 30 + 2  # sqrt(n) columns of 28 px cells and 2 px padding



def test_generate_change_class_and_model_card(browser, serve):
    from selenium.webdriver.support.ui import Select

    url = serve("cgan")
    _open(browser, url)  # the page generates on load
    grid = _pixels(browser, "grid")
    assert grid.shape == (_grid_px(16), _grid_px(16)) and grid.std() > 1.0  # 16 images, not a blank picture
    assert _el(browser, "seed").get_attribute("value") == "0"
    classes = Select(_el(browser, "class"))
    assert len(classes.options) == 11 and classes.options[10].text == "9: Ankle boot"

    _after(browser, "grid", _version(browser, "grid"), lambda: classes.select_by_value("3"))
    dress = _pixels(browser, "grid")
    assert dress.shape == grid.shape and not np.array_equal(dress, grid)  # the class changed the images ...
    assert np.array_equal(dress, _api_grid(url, {"n": 16, "seed": 0, "class": 3}))  # ... to exactly those of class 3
    assert "3: Dress" in _el(browser, "grid-caption").text
    _after(browser, "grid", _version(browser, "grid"), lambda: _el(browser, "generate").click())
    assert np.array_equal(_pixels(browser, "grid"), dress)  # same seed + class, same pixels
    _after(browser, "grid", _version(browser, "grid"), lambda: _el(browser, "random-seed").click())
    assert _el(browser, "seed").get_attribute("value") != "0" and not np.array_equal(_pixels(browser, "grid"), dress)

    _type(browser, "n", "4")
    _after(browser, "grid", _version(browser, "grid"), lambda: _el(browser, "generate").click())
    assert _pixels(browser, "grid").shape == (_grid_px(4), _grid_px(4))

    # the model card: recipe, step, and the sample grid of /v1/model/card.png
    facts = _el(browser, "card-facts").text
    assert "cgan_fashion_mnist" in facts and "Step\n2" in facts and "Weights" in facts
    metrics = _el(browser, "metrics-table").text  # the eval report's number with its protocol
    assert re.search(r"fid \d+\.\d", metrics) and "n_generated 64" in metrics and "fashion-mnist:test" in metrics
    _wait(browser, lambda d: _version(d, "card-image") >= 1, "the model card's sample grid")
    assert _pixels(browser, "card-image").shape == (_grid_px(16), _grid_px(16))
    assert not _el(browser, "translate-section").is_displayed() and not _el(browser, "style-section").is_displayed()

    # nothing was fetched from another origin
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith((url, "blob:", "data:")) for u in urls), urls
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]


def test_interpolation_animation(browser, serve):
    url = serve("cgan")
    _open(browser, url)
    _after(browser, "interp-image", _version(browser, "interp-image"), lambda: _el(browser, "interpolate").click())
    kind, b64 = browser.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0].src).then(r => r.blob()).then(b => {"
        " const f = new FileReader(); f.onload = () => done([b.type, f.result.split(',')[1]]); f.readAsDataURL(b); });",
        _el(browser, "interp-image"))  # fmt: skip
    assert kind == "image/gif" and _pixels(browser, "interp-image").shape == (28, 28)  # the browser shows it
    gif = base64.b64decode(b64)
    want = {"seed_from": 0, "seed_to": 1, "steps": 16, "truncation": 1.0, "format": "gif"}
    assert gif == _api(url, "v1/interpolate", want)  # what the page asked for: seeds 0 -> 1 in 16 frames
    assert Image.open(io.BytesIO(gif)).n_frames == 16


def test_style_mixing_and_the_truncation_slider(browser, serve):
    from selenium.webdriver.common.keys import Keys

    url = serve("style")
    _open(browser, url)
    assert _el(browser, "style-section").is_displayed() and not _el(browser, "class").is_displayed()
    _el(browser, "psi").send_keys(*[Keys.ARROW_LEFT] * 10)  # 1.00 -> 0.50 in steps of 0.05
    assert _el(browser, "psi-value").text == "0.50"
    _after(browser, "grid", _version(browser, "grid"), lambda: _el(browser, "generate").click())
    half = _pixels(browser, "grid")
    assert np.array_equal(half, _api_grid(url, {"n": 16, "seed": 0, "truncation": 0.5}))
    assert not np.array_equal(half, _api_grid(url, {"n": 16, "seed": 0, "truncation": 1.0}))

    _type(browser, "row-seeds", "0, 1")
    _after(browser, "style-image", 0, lambda: _el(browser, "style-mix").click())
    want = _api(url, "v1/style-mix", {"row_seeds": [0, 1], "col_seeds": [3, 4, 5], "layers": "coarse"})
    mix = _pixels(browser, "style-image")
    assert mix.shape[0] < mix.shape[1] and np.array_equal(mix, _red(want))  # 2 rows x 3 columns (+ the seeds' own images)
    _type(browser, "row-seeds", "0, x")
    _el(browser, "style-mix").click()
    _wait(browser, lambda d: "Row seeds" in _el(d, "error").text, "the seed-list message", errors_fail=False)


def test_stargan_target_class(browser, serve, tmp_path):
    import httpx
    from selenium.webdriver.support.ui import Select

    url = serve("stargan")
    _open(browser, url, first_grid=False)
    _wait(browser, lambda d: _el(d, "target-class").is_displayed(), "the target-class choice")
    assert _el(browser, "translate").text == "Translate" and not _el(browser, "mask-canvas").is_displayed()
    _write_png(tmp_path / "x.png", 28, 28)
    _upload(browser, tmp_path / "x.png")
    Select(_el(browser, "target-class")).select_by_value("4")
    _after(browser, "translate-output", 0, lambda: _el(browser, "translate").click())
    out = _pixels(browser, "translate-output")
    with open(tmp_path / "x.png", "rb") as f:
        res = httpx.post(url + "v1/translate", files={"image": ("x.png", f, "image/png")}, data={"target_class": "4"}, timeout=30)
    assert out.shape == (28, 28) and np.array_equal(out, np.asarray(Image.open(io.BytesIO(res.content)).convert("L")))


def test_api_errors_are_shown_on_the_page(browser, serve):
    _open(browser, serve("cgan"))
    browser.execute_script("document.getElementById('n').value = '100000'")
    _el(browser, "generate").click()
    err = _el(browser, "error")
    _wait(browser, lambda d: err.is_displayed() and err.text, "an error message", errors_fail=False)
    assert err.text.startswith("422: n:") and "64" in err.text and "100000" in err.text  # the API's detail, as it said it
    assert "{" not in err.text and _el(browser, "generate").is_enabled()  # not raw JSON; the button works again


def test_api_key_field_appears_on_401_and_is_sent(browser, serve):
    _open(browser, serve("cgan", api_key=True), first_grid=False, errors_fail=False)
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    _wait(browser, lambda d: _el(d, "auth-section").is_displayed(), "the API-key field", errors_fail=False)
    assert _el(browser, "auth-section").is_displayed() and _el(browser, "error").text.startswith("401")
    _el(browser, "api-key").send_keys(KEY)
    _el(browser, "api-key-save").click()
    _wait(browser, lambda d: _version(d, "grid") >= 1, "a grid after the key was given")
    assert browser.execute_script("return sessionStorage.getItem('gankit-api-key')") == KEY
    assert not _el(browser, "error").is_displayed()


def _write_png(path: Path, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    arr = ((xx * 9 + yy * 5) % 256).astype(np.uint8)
    Image.fromarray(arr, "L").save(path)
    return arr


def test_upload_an_image_to_upscale(browser, serve, tmp_path):
    _open(browser, serve("sr"), first_grid=False)
    _wait(browser, lambda d: _el(d, "translate-section").is_displayed(), "the image-to-image section")
    assert not _el(browser, "generate-section").is_displayed() and _el(browser, "translate").text == "Upscale"
    assert "any size" in _el(browser, "input-help").text and "2× larger" in _el(browser, "input-help").text
    _write_png(tmp_path / "lr.png", 14, 12)
    _upload(browser, tmp_path / "lr.png")
    _after(browser, "translate-output", 0, lambda: _el(browser, "translate").click())
    out = _pixels(browser, "translate-output")
    assert out.shape == (28, 24) and out.std() > 0.5  # 2x of the uploaded size, with content
    assert "24×28" in _el(browser, "translate-caption").text


def test_draw_a_mask_and_inpaint(browser, serve, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    _open(browser, serve("inpaint"), first_grid=False)
    _wait(browser, lambda d: _el(d, "mask-canvas").is_displayed(), "the mask canvas")
    src = _write_png(tmp_path / "x.png", 28, 28)
    _upload(browser, tmp_path / "x.png")
    _el(browser, "translate").click()  # no hole painted yet: the page says so and sends nothing
    _wait(browser, lambda d: "paint the hole" in _el(d, "error").text, "the missing-mask message", errors_fail=False)

    canvas = _el(browser, "mask-canvas")
    size = canvas.size["width"]  # shown at 224 px for 28 model pixels
    ActionChains(browser).move_to_element_with_offset(canvas, -size // 4, -size // 4).click_and_hold() \
        .move_by_offset(size // 4, size // 8).move_by_offset(size // 8, size // 4).release().perform()
    hole = np.asarray(browser.execute_script(
        "const c = arguments[0], d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, o = [];"
        "for (let i = 3; i < d.length; i += 4) o.push(d[i] >= 128 ? 1 : 0); return o;", canvas)).reshape(28, 28)
    assert 10 < hole.sum() < 28 * 28 / 2
    _after(browser, "translate-output", 0, lambda: _el(browser, "translate").click())
    out = _pixels(browser, "translate-output")
    assert out.shape == (28, 28)
    assert np.abs(out[hole == 0] - src[hole == 0].astype(np.int16)).max() <= 1  # the model only filled the hole


def test_screenshot_for_the_docs(browser, serve):
    """Writes docs/images/web_page.png only when asked: GANKIT_SCREENSHOT=path [GANKIT_SCREENSHOT_RUN=run]."""
    path = os.environ.get("GANKIT_SCREENSHOT")
    if not path:
        pytest.skip("set GANKIT_SCREENSHOT=path (and GANKIT_SCREENSHOT_RUN=run) to write the docs' screenshot")
    _open(browser, serve(os.environ.get("GANKIT_SCREENSHOT_RUN", "cgan")))
    _wait(browser, lambda d: _version(d, "card-image") >= 1, "the model card's grid")
    _type(browser, "n", "20")  # every class twice: a 5 x 4 grid, one class per cell in turn
    _after(browser, "grid", _version(browser, "grid"), lambda: _el(browser, "generate").click())
    _after(browser, "interp-image", _version(browser, "interp-image"), lambda: _el(browser, "interpolate").click())
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        time.sleep(0.3)
        browser.save_screenshot(path)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert Image.open(path).size[0] >= 1000
