"""What a reader of the book sees, checked in headless Chromium and in the printed handout.

    python check-book.py site URL       every page of the book served at URL loads without a
                                        console error, a failed request or an undrawn picture;
                                        every internal link and #anchor resolves; no page shows
                                        an mdBook anchor comment or an unexpanded include; and
                                        at 1280x800 and at 1024x768 (the sidebar closed, as
                                        mdBook opens a page that narrow, and open) nothing needs
                                        a sideways scroll: not the page, not the text, not a
                                        code block (`pre`), not a table
    python check-book.py handout PDF    the handout (bash book/handout.sh) has at most 78 pages
                                        and the chapters `bash book/handout.sh --chapters`
                                        names, each starting a page; no line of code is cut off
                                        and no text runs past the page's margins
    python check-book.py handout --full PDF
                                        the same for the whole book (bash book/handout.sh
                                        --full), with no page limit

Run by .ci/run with Playwright (from PyPI) driving Debian's Chromium, and poppler's pdftotext.
"""

import re
import subprocess
import sys
import tempfile
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


# The windows the book must be read in without a sideways scroll: a projector's 1280x800
# (mdBook opens the sidebar beside the text from 1080 pixels up) and a small laptop's 1024x768
# (mdBook opens a page that narrow with the sidebar closed; a reader may open it).
LAYOUTS = [
    ("1280x800", {"width": 1280, "height": 800}, False),
    ("1024x768", {"width": 1024, "height": 768}, False),
    ("1024x768 with the sidebar open", {"width": 1024, "height": 768}, True),
]

# What overflows on the page as it is laid out now: [what, how, by how many pixels], the
# largest overflow of each element. The page and the containers of the text must not scroll
# sideways; every `pre` and `table` in the text must fit in its box (its scrollWidth is not
# more than its clientWidth: mdBook wraps a table in a .table-wrapper that scrolls, and a
# table that needs that scroll overflows all the same) and within the text's column and the
# window; so must anything else in the text (a long word, a picture).
OVERFLOW = """() => {
  const main = document.querySelector("#mdbook-content main");
  const found = new Map();
  const note = (what, how, by) => {
    by = Math.round(by);
    if (by >= 1 && !(found.has(what) && found.get(what)[1] >= by)) found.set(what, [how, by]);
  };
  const headings = [...main.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  const describe = (element, kind, index) => {
    let under = null;
    for (const heading of headings) {
      if (heading.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING) {
        under = heading;
      }
    }
    const line = (element.innerText || element.textContent || "").trim().split("\\n")[0];
    const text = line.length > 40 ? line.slice(0, 40) + "..." : line;
    const section = under ? "#" + under.id : "the top";
    return `${kind} ${index + 1} (in ${section}: ${JSON.stringify(text)})`;
  };
  for (const [what, element] of [
    ["the page", document.scrollingElement],
    ["the page's body", document.body],
    ["the page wrapper", document.querySelector("#mdbook-page-wrapper")],
    ["the content", document.querySelector("#mdbook-content")],
    ["the text's column (main)", main],
  ]) {
    note(what + " scrolls sideways", "", element.scrollWidth - element.clientWidth);
  }
  const column = main.getBoundingClientRect();
  const right = Math.min(column.right, document.documentElement.clientWidth);
  const left = Math.max(column.left, 0);
  const outside = (box) => Math.max(box.right - right, left - box.left);
  main.querySelectorAll("pre").forEach((pre, index) => {
    const what = describe(pre, "code block", index);
    for (const element of [pre, ...pre.querySelectorAll(":scope > code")]) {
      note(what, "needs a sideways scroll", element.scrollWidth - element.clientWidth);
    }
    note(what, "sticks out of the text's column", outside(pre.getBoundingClientRect()));
  });
  main.querySelectorAll("table").forEach((table, index) => {
    const what = describe(table, "table", index);
    const wrapper = table.parentElement;
    note(what, "needs a sideways scroll", wrapper.scrollWidth - wrapper.clientWidth);
    note(what, "needs a sideways scroll", table.scrollWidth - table.clientWidth);
    const box = table.getBoundingClientRect();
    note(what, "is wider than its box", box.width - wrapper.clientWidth);
    note(what, "sticks out of the text's column", outside(box));
  });
  const reported = [];
  const all = [...main.querySelectorAll("*")];
  all.forEach((element, index) => {
    if (element.closest("pre, table, .table-wrapper")) return;
    if (reported.some((outer) => outer.contains(element))) return;
    const box = element.getBoundingClientRect();
    // mdBook's visually hidden checkbox that zooms a picture is 1 pixel wide, 1 pixel out.
    if (box.width <= 1 && box.height <= 1) return;
    const style = getComputedStyle(element);
    if (style.display === "none" || style.visibility === "hidden") return;
    const what = describe(element, "<" + element.localName + ">", index);
    const scrolls = ["auto", "scroll"].includes(style.overflowX)
      ? element.scrollWidth - element.clientWidth : 0;
    if (scrolls >= 1) {
      note(what, "needs a sideways scroll", scrolls);
      reported.push(element);
    } else if (outside(box) >= 1) {
      note(what, "sticks out of the text's column", outside(box));
      reported.push(element);
    }
  });
  return [...found].map(([what, [how, by]]) => [what, how, by]);
}"""


def overflows(page, url, layout, open_sidebar):
    """The problems of the page at url, as laid out in the page's window."""
    # The fonts change the widths: they are measured once they are in.
    page.evaluate("document.fonts.ready.then(() => true)")
    if open_sidebar:
        page.add_style_tag(content="* { transition: none !important; }")
        page.evaluate(
            """() => {
                document.getElementById("mdbook-sidebar-toggle-anchor").checked = true;
                document.documentElement.classList.add("sidebar-visible");
            }"""
        )
    return [
        f"{url} at {layout}: {what} {how}{' ' if how else ''}by {by} px"
        for what, how, by in page.evaluate(OVERFLOW)
    ]


def check_site(base):
    base = base.rstrip("/") + "/"
    pages = ["index.html", "print.html"] + [page for _, page in chapters()]
    problems, ids, links, pictures = [], {}, [], 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
        )
        first, viewport, _ = LAYOUTS[0]
        page = browser.new_page(viewport=viewport)
        where = {"url": ""}
        page.on(
            "console",
            lambda message: message.type == "error"
            and problems.append(f"{where['url']}: console error: {message.text}"),
        )
        page.on("pageerror", lambda error: problems.append(f"{where['url']}: {error}"))
        # Chromium asks for the favicon after the page's load event, so going on to the next
        # page can cancel that request (net::ERR_ABORTED, seen once on print.html in a CI
        # run). A missing favicon still shows: its answer is a 404, caught below.
        page.on(
            "requestfailed",
            lambda request: not (
                "favicon" in request.url and request.failure == "net::ERR_ABORTED"
            )
            and problems.append(
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
            problems += overflows(page, url, first, False)
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
        page.close()
        for layout, viewport, open_sidebar in LAYOUTS[1:]:
            page = browser.new_page(viewport=viewport)
            for name in pages:
                url = base + name
                page.goto(url, wait_until="load")
                problems += overflows(page, url, layout, open_sidebar)
            page.close()
        browser.close()
    internal = sum(
        1 for source, href in links if urlparse(urljoin(source, href)).netloc == urlparse(base).netloc
    )
    print(
        f"{len(pages)} pages loaded with no console error; {pictures} pictures drawn; "
        f"{internal} internal links resolve ({len(links) - internal} external, not followed); "
        f"every page measured at {', '.join(layout for layout, _, _ in LAYOUTS)}"
    )
    return problems


# The handout for the attendee's desk is printed for a room: at most this many pages. Ten
# exercise chapters, set-up, step 01, the latency chapter and troubleshooting, with the
# sections that stay on the screen left out (book/handout.sh), came to 65.
HANDOUT_PAGES = 78


def handout(full, *arguments):
    """What book/handout.sh says about the handout (with --full: the whole book)."""
    return subprocess.run(
        ["bash", str(BOOK / "handout.sh"), *(["--full"] if full else []), *arguments],
        capture_output=True, text=True, check=True,
    ).stdout


def check_handout(pdf, full):
    problems = []
    pages = int(
        re.search(r"Pages:\s+(\d+)", subprocess.run(
            ["pdfinfo", pdf], capture_output=True, text=True, check=True
        ).stdout).group(1)
    )
    if not full and pages > HANDOUT_PAGES:
        problems.append(
            f"the handout has {pages} pages, more than {HANDOUT_PAGES}: leave a chapter out of "
            "DESK in book/handout.sh, or set the print tighter in book/theme/handout.css"
        )
    files = handout(full, "--chapters").split()
    titles = dict((file, title) for title, file in chapters())
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
    for title in (titles[file.replace(".md", ".html")] for file in files):
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
    # The handout's own print.html, as handout.sh builds it, is what was printed.
    with tempfile.TemporaryDirectory() as html:
        handout(full, "--html", html)
        printed_html = (Path(html) / "print.html").read_text()
    code_lines = [
        line
        for block in code_blocks(printed_html)
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
    margin = 14 / 25.4 * 72 - 2  # 14 mm at the sides, as in book/theme/handout.css, less 2 points
    for number, page in enumerate(root.iter("page"), start=1):
        width = float(page.get("width"))
        for word in page.iter("word"):
            if float(word.get("xMax")) > width - margin or float(word.get("xMin")) < margin:
                problems.append(f"page {number}: {word.text!r} runs past the margin")
    print(
        f"{'whole book' if full else 'handout'}: {pages} pages"
        f"{'' if full else f' (at most {HANDOUT_PAGES})'}; each of its {len(files)} chapters "
        f"starts a page; all {len(code_lines)} lines of code whole; no text past the margins"
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
    arguments = sys.argv[1:]
    if arguments[:1] == ["site"] and len(arguments) == 2:
        problems = check_site(arguments[1])
    elif arguments[:1] == ["handout"] and len(arguments) == 2:
        problems = check_handout(arguments[1], full=False)
    elif arguments[:2] == ["handout", "--full"] and len(arguments) == 3:
        problems = check_handout(arguments[2], full=True)
    else:
        print(__doc__)
        return 2
    for problem in problems:
        print(f"error: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
