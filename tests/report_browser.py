"""The Snakemake report in headless Chromium: where its parts land on a laptop screen.

A size is the browser window (``--window-size``); the page gets what is left
of it, 1366 x 625 CSS pixels of a 1366 x 768 window in headless Chromium,
about what a maximised browser leaves of a laptop screen.

:func:`measure` opens a copy of the report with a small script added, which
shows the front page and then every figure and table in turn and records
where the title, the first paragraph and each figure's top-left corner are;
:func:`layout_problems` says which of them cannot be seen or scrolled to.
:func:`screenshot` saves one view as PNG. From the command line, screenshots
of the front page and of every result at both screen sizes::

    python tests/report_browser.py results/report.html screenshots/
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Screen sizes the report must be readable at: a common laptop and a full HD screen.
SIZES = ((1366, 768), (1920, 1080))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=600000",
)

# Waits for the report's React app (the global `app`), shows the views one by one
# through `app.setView` as its own buttons do, and writes what it measured into
# the page as JSON; with `#show=<view>` it only shows that view (for a screenshot).
_SCRIPT = """<script id="brainnet-layout-check">
(function () {
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const pane = () => document.querySelector("#app .grow.h-screen.overflow-auto");
  function place(element) {
    if (!element) return null;
    const r = element.getBoundingClientRect(), p = pane().getBoundingClientRect();
    return {top: r.top, left: r.left, width: r.width, height: r.height,
            pane_top: p.top, pane_left: p.left, pane_width: p.width};
  }
  async function show(view) {
    if (view === "front") {
      app.setView({content: "rulegraph"});
    } else {
      const result = results[view];
      const content = result.mime_type.startsWith("image/") ? "img" : "html";
      app.setView({content: content, contentPath: result.data_uri, resultPath: view});
    }
    await wait(300);
    const image = pane().querySelector("img");
    for (let k = 0; image && !(image.complete && image.naturalWidth) && k < 100; k++) {
      await wait(50);
    }
    pane().scrollTo(0, 0);
    window.scrollTo(0, 0);
  }
  async function main() {
    while (typeof app === "undefined" || !pane()) await wait(50);
    const hash = new URLSearchParams(location.hash.slice(1));
    if (hash.has("show")) return show(hash.get("show"));
    const out = {viewport: [innerWidth, innerHeight], views: {}};
    await show("front");
    const prose = pane().querySelector(".prose");
    out.views.front = {title: place(prose && prose.querySelector("h1")),
                       paragraph: place(prose && prose.querySelector("p"))};
    for (const view of Object.keys(results)) {
      const mime = results[view].mime_type;
      if (!(mime.startsWith("image/") || mime === "text/html")) continue;
      await show(view);
      const figure = pane().querySelector(mime === "text/html" ? "iframe" : "img");
      out.views[view] = {figure: place(figure)};
    }
    const record = document.createElement("pre");
    record.id = "brainnet-layout";
    record.textContent = JSON.stringify(out);
    document.body.appendChild(record);
  }
  main();
})();
</script>
"""


def _instrumented(report: Path, folder: Path) -> Path:
    """A copy of ``report`` with the measuring script before ``</body>``."""
    page = Path(report).read_text(encoding="utf-8")
    at = page.rindex("</body>")
    copy = Path(folder) / "report.html"
    copy.write_text(page[:at] + _SCRIPT + page[at:], encoding="utf-8")
    return copy


def _chromium(args, size, folder):
    if CHROMIUM is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    profile = Path(folder) / f"profile-{size[0]}x{size[1]}"
    return subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"]
        + args,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


def measure(report: str | Path, size: tuple[int, int]) -> dict:
    """Where the title, first paragraph and every figure of ``report`` land at ``size``.

    Returns ``{"viewport": [width, height], "views": {view: {part: box}}}``;
    a box holds the element's ``top``, ``left``, ``width`` and ``height`` and
    the content pane's ``pane_top``, ``pane_left`` and ``pane_width`` (CSS
    pixels, pane scrolled to its start), or is None when the part is missing.
    """
    with tempfile.TemporaryDirectory() as folder:
        page = _instrumented(Path(report), Path(folder))
        dom = _chromium(["--dump-dom", f"{page.as_uri()}#measure"], size, folder).stdout
    found = re.search(r'<pre id="brainnet-layout">(.*?)</pre>', dom, re.S)
    if found is None:
        raise RuntimeError(f"the report did not finish rendering at {size}")
    return json.loads(html.unescape(found.group(1)))


def layout_problems(measured: dict) -> list[str]:
    """Every part that is missing, cut off above or left, not on screen when opened, or
    wider than the content pane."""
    width, height = measured["viewport"]
    problems = []
    for view, parts in measured["views"].items():
        for part, box in parts.items():
            where = f"{view}: {part}"
            if box is None:
                problems.append(f"{where} is missing")
                continue
            if box["top"] < box["pane_top"] - 1 or box["left"] < box["pane_left"] - 1:
                problems.append(f"{where} starts above or left of the page at {box}")
            elif box["top"] >= height:
                problems.append(f"{where} starts below the screen ({box['top']} >= {height})")
            if (
                part == "figure"
                and box["left"] + box["width"] > box["pane_left"] + box["pane_width"] + 1
            ):
                problems.append(f"{where} is wider than the page ({box['width']} px)")
    return problems


def screenshot(
    report: str | Path, size: tuple[int, int], view: str, path: str | Path, viewport=None
) -> Path:
    """Save the ``view`` (``"front"`` or a result's path) of ``report`` at ``size`` as PNG.

    ``size`` is the browser window; headless Chromium draws the window's full
    height, but the page only gets its ``viewport`` (from :func:`measure`),
    so the image is cut to what a reader sees.
    """
    from PIL import Image

    path = Path(path).absolute()
    with tempfile.TemporaryDirectory() as folder:
        page = _instrumented(Path(report), Path(folder))
        show = f"{page.as_uri()}#show={view}"
        _chromium([f"--screenshot={path}", show], size, folder)
    if viewport is not None:
        with Image.open(path) as image:
            image.crop((0, 0, *viewport)).save(path)
    return path


def main(report, folder):
    """Screenshots of the front page and every result at both sizes, and the problems found."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        measured = measure(report, size)
        for problem in layout_problems(measured):
            print(f"{size[0]}x{size[1]}: {problem}")
        for view in measured["views"]:
            name = re.sub(r"[^\w.-]+", "_", view)
            target = folder / f"{size[0]}x{size[1]}_{name}.png"
            screenshot(report, size, view, target, measured["viewport"])
    print(f"screenshots in {folder}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
