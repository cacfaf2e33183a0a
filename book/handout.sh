#!/usr/bin/env bash
# Makes the workshop's handout: the whole book as one PDF, book/handout.pdf, each chapter on a
# new page. Needs mdBook (see book/book.toml for the version) and Chromium or Google Chrome.
# Usage: bash book/handout.sh [OUTPUT.pdf]
set -euo pipefail
book=$(cd "$(dirname "$0")" && pwd)
output=${1:-$book/handout.pdf}

browser=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
done
if [ -z "$browser" ]; then
  echo "error: no Chromium or Google Chrome found: install one (Debian: apt-get install chromium)" >&2
  exit 2
fi
command -v mdbook >/dev/null ||
  { echo "error: no mdbook found: cargo install --locked mdbook --version 0.5.4" >&2; exit 2; }

version=$(mdbook --version)
[ "$version" = "mdbook v0.5.4" ] ||
  echo "note: $version, not the mdbook v0.5.4 the book is checked with; the PDF may differ" >&2
mdbook build "$book"
# mdBook's print.html is the whole book on one page, with a page break before each chapter.
# The flags keep a headless Chromium from reaching out to the network and from adding the
# date and the file's path in the margins. (Not `--virtual-time-budget`: Chromium 156 then
# writes no PDF at all; it prints once the page and its pictures have loaded anyway.)
rm -f "$output"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --no-pdf-header-footer --run-all-compositor-stages-before-draw \
  --print-to-pdf="$output" "file://$book/book/print.html" 2>/dev/null
[ -s "$output" ] || { echo "error: $browser wrote no PDF" >&2; exit 1; }
echo "wrote $output"
