"""What a reader of the book sees, checked in headless Chromium and in the printed handout.

    python check-book.py site URL       every page of the book served at URL loads without a
                                        console error, a failed request or an undrawn picture;
                                        every internal link and #anchor resolves; no page shows
                                        an mdBook anchor comment or an unexpanded include
    python check-book.py handout PDF    the handout has every chapter, each starting a page,
                                        and no text runs past the page's right margin

Run by .ci/run with Playwright (from PyPI) driving Debian's Chromium, and poppler's pdftotext.
"""

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

from playwright.sync_api import sync_playwright

BOOK = Path(__file__).resolve().parent.parent / "book"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chapters():
    """(title, html page) for every chapter in SUMMARY.md, in order."""
    summary = (BOOK / "src" / "SUMMARY.md").read_text()
    return [
        (title, file.replace(".md", ".html"))
        for title, file in re.findall(r"\[([^\]]+)\]\(([^)]+\.md)\)", summary)
    ]


def check_site(base):
    base = base.rstrip("/") + "/"
    pages = ["index.html", "print.html"] + [page for _, page in chapters()]
    problems, ids, links, pictures = [], {}, [], 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        page = browser.new_page()
        where = {"url": ""}
        page.on(
            "console",
            lambda message: message.type == "error"
            and problems.append(f"{where['url']}: console error: {message.text}"),
        )
        page.on("pageerror", lambda error: problems.append(f"{where['url']}: {error}"))
        page.on(
            "requestfailed",
            lambda request: problems.append(
                f"{where['url']}: request failed: {request.url} {request.failure}"
            ),
        )
        page.on(
            "response",
            lambda response: response.status >= 400
            and problems.append(f"{where['url']}: {response.status} for {response.url}"),
        )
        for name in pages:
            url = base + name
            where["url"] = url
            response = page.goto(url, wait_until="load")
            if response is None or response.status != 200:
                problems.append(f"{url}: status {response and response.status}")
                continue
            images = page.eval_on_selector_all(
                "main img",
                "images => images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])",
            )
            for src, complete, width in images:
                if not (complete and width > 0):
                    problems.append(f"{url}: picture {src} is not drawn")
            pictures += len(images)
            ids[url] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            text = page.inner_text("main")
            for leak in ("ANCHOR", "{{#"):
                if leak in text:
                    problems.append(f"{url}: the page shows {leak!r}")
            for href in page.eval_on_selector_all(
                "main a[href]", "links => links.map(a => a.getAttribute('href'))"
            ):
                links.append((url, href))
        # Links to pages outside the list (none expected) are loaded to learn their ids.
        for source, href in links:
            target, fragment = urldefrag(urljoin(source, href))
            if urlparse(target).netloc != urlparse(base).netloc:
                continue
            if target not in ids:
                where["url"] = target
                response = page.goto(target, wait_until="load")
                if response is None or response.status != 200:
                    problems.append(f"{source}: link to {href} is broken")
                    continue
                ids[target] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
            if fragment and fragment not in ids[target]:
                problems.append(f"{source}: link to {href}: no #{fragment} there")
        browser.close()
    internal = sum(
        1 for source, href in links if urlparse(urljoin(source, href)).netloc == urlparse(base).netloc
    )
    print(
        f"{len(pages)} pages loaded with no console error; {pictures} pictures drawn; "
        f"{internal} internal links resolve ({len(links) - internal} external, not followed)"
    )
    return problems


def check_handout(pdf):
    problems = []
    pages = int(
        re.search(r"Pages:\s+(\d+)", subprocess.run(
            ["pdfinfo", pdf], capture_output=True, text=True, check=True
        ).stdout).group(1)
    )
    first_lines = []
    for number in range(1, pages + 1):
        text = subprocess.run(
            ["pdftotext", "-f", str(number), "-l", str(number), "-layout", pdf, "-"],
            capture_output=True, text=True, check=True,
        ).stdout
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # mdBook prints typographic apostrophes. A long title wraps: its page starts with
        # its first line, and the next line goes on with it.
        first_lines.append(" ".join(lines[:2]).replace("\u2019", "'"))
    for title, _ in chapters():
        # A title's `code` prints without its backticks.
        title = title.replace("`", "")
        if not any(first == title or first.startswith(title + " ") for first in first_lines):
            problems.append(f"no page starts with the chapter {title!r}")

    # Every line of code in the book is in the handout whole: a line too long for the page,
    # unless wrapped, is cut at its edge, and the cut part is not in the PDF's text. Wrapping
    # and page breaks only add white space, which the comparison ignores.
    printed = re.sub(r"\s+", "", subprocess.run(
        ["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout)
    code_lines = [
        line
        for block in code_blocks((BOOK / "book" / "print.html").read_text())
        for line in block.splitlines()
        if line.strip()
    ]
    # The lines are looked for in order, each after the one before, so that a short line
    # cannot be found somewhere else in the book.
    at = 0
    for line in code_lines:
        found = printed.find(re.sub(r"\s+", "", line), at)
        if found < 0:
            problems.append(f"code line cut or missing in the handout: {line.strip()!r}")
        else:
            at = found

    # And every word lies inside the page's margins.
    bbox = subprocess.run(
        ["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    root = ElementTree.fromstring(re.sub(r'xmlns="[^"]+"', "", bbox, count=1))
    margin = 14 / 25.4 * 72 - 2  # 14 mm, as in book/theme/handout.css, less 2 points
    for number, page in enumerate(root.iter("page"), start=1):
        width = float(page.get("width"))
        for word in page.iter("word"):
            if float(word.get("xMax")) > width - margin or float(word.get("xMin")) < margin:
                problems.append(f"page {number}: {word.text!r} runs past the margin")
    print(
        f"handout: {pages} pages; every chapter starts a page; all {len(code_lines)} lines of "
        "code whole; no text past the margins"
    )
    return problems


class CodeBlocks(HTMLParser):
    """The text of every <pre><code> block of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self.depth, self.in_pre = [], 0, False

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.in_pre = True
        elif tag == "code" and self.in_pre:
            self.depth += 1
            if self.depth == 1:
                self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "code" and self.depth:
            self.depth -= 1
        elif tag == "pre":
            self.in_pre = False

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1] += data


def code_blocks(html):
    parser = CodeBlocks()
    parser.feed(html)
    return parser.blocks


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("site", "handout"):
        print(__doc__)
        return 2
    problems = check_site(sys.argv[2]) if sys.argv[1] == "site" else check_handout(sys.argv[2])
    for problem in problems:
        print(f"error: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
