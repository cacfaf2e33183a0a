#!/usr/bin/env bash
# Makes the workshop's printed handout, each chapter on a new page. Needs mdBook (see
# book/book.toml for the version) and Chromium or Google Chrome.
#
#   bash book/handout.sh [OUTPUT.pdf]          the handout for the attendee's desk (at most 78
#                                              pages), book/handout.pdf: the chapters DESK
#                                              names below, in the book's order
#   bash book/handout.sh --full [OUTPUT.pdf]   the whole book, book/handout-full.pdf
#   bash book/handout.sh [--full] --chapters   only lists the chapters' files, one a line
#   bash book/handout.sh [--full] --html DIR   only builds the handout's mdBook into DIR, a new
#                                              or empty folder (its print.html is what prints)
set -euo pipefail
book=$(cd "$(dirname "$0")" && pwd)

# What an attendee needs at the desk while doing the steps: setting up, steps 01 to 13 with
# their exercises and hints and the testing exercise, but for step 06 (it needs a Google Cloud project, and is shown
# from the book), the latency chapter (its puzzle is an exercise), what to do when spans do not
# arrive, the capstone with its recap, and the cheat sheet with the glossary. Not in it, for
# reading at leisure or in the browser: the introduction, step 06, the essays (from Go to Rust,
# span context, what tracing costs), the hardening chapter and the instructor notes. Patterns, as in a shell's `case`, on SUMMARY.md's
# files.
DESK=(setup.md 'step-0[1-57-9].md' 'step-1[0-9].md' testing.md latency.md capstone.md troubleshooting.md
  cheat-sheet.md)

# Sections of those chapters that stay on the screen: each step's "Everything that changed",
# the whole diff from the step before (more than half of the book's code; the chapter's own
# code blocks show each change where it is explained); the ways to other back ends, which
# nobody takes at the desk; the comparison of the two APIs; the testing chapter's end-to-end
# tests, which its exercise does not need; and every "Going deeper" section, depth a learner
# may skip.
SCREEN_ONLY='## Everything that changed|## End to end, with a real receiver|## 2. In Jaeger, with Docker|## 3. In Google Cloud, through a Collector|## To Google Cloud, through a Collector|## The OpenTelemetry API and `tracing`, side by side'
GOING_DEEPER='## Going deeper'

full=false
list=false
html=""
output=""
while [ $# -gt 0 ]; do
  argument=$1
  shift
  case $argument in
    --full) full=true ;;
    --chapters) list=true ;;
    --html)
      [ $# -gt 0 ] || { echo "error: --html needs a folder (see: bash $0 --help)" >&2; exit 2; }
      html=$1
      shift ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "error: unknown option $argument (see: bash $0 --help)" >&2; exit 2 ;;
    *)
      [ -z "$output" ] || { echo "error: one output file only (see: bash $0 --help)" >&2; exit 2; }
      output=$argument ;;
  esac
done

# SUMMARY.md's chapter lines, "- [Title](file.md)" or "[Title](file.md)", of the handout.
# (The whole book is built from SUMMARY.md as it is.)
chapter_lines() {
  local line file pattern
  while IFS= read -r line; do
    [[ $line =~ \]\(([^\)]+\.md)\) ]] || continue
    file=${BASH_REMATCH[1]}
    if $full; then
      echo "$line"
      continue
    fi
    for pattern in "${DESK[@]}"; do
      # shellcheck disable=SC2254 # the pattern is meant to match as a pattern
      case $file in
        $pattern)
          # A chapter after the numbered ones (no "- ") needs a blank line before it, or
          # mdBook reads it as the end of the list item above.
          case $line in -*) ;; *) $list || echo ;; esac
          echo "$line"
          break ;;
      esac
    done
  done <"$book/src/SUMMARY.md"
}

if $list; then
  chapter_lines | sed -E 's/.*\]\(([^)]+\.md)\).*/\1/'
  exit 0
fi

if $full; then
  output=${output:-$book/handout-full.pdf}
else
  output=${output:-$book/handout.pdf}
fi
case $output in /*) ;; *) output=$PWD/$output ;; esac

command -v mdbook >/dev/null ||
  { echo "error: no mdbook found: cargo install --locked mdbook --version 0.5.4" >&2; exit 2; }
version=$(mdbook --version)
[ "$version" = "mdbook v0.5.4" ] ||
  echo "note: $version, not the mdbook v0.5.4 the book is checked with; the PDF may differ" >&2

browser=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
done
if [ -z "$browser" ] && [ -z "$html" ]; then
  echo "error: no Chromium or Google Chrome found: install one (Debian: apt-get install chromium)" >&2
  exit 2
fi

# The handout is a book of its own, built in a folder of its own: a copy of book/ whose
# SUMMARY.md lists only the handout's chapters. The chapters include code from ../../steps and
# ../../exercises, relative to their src/ folder: the copy's neighbours are links to the
# repository's own folders, so those paths lead to the same files.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/book"
cp -R "$book/book.toml" "$book/src" "$book/theme" "$work/book/"
root=$(dirname "$book")
for entry in "$root"/*; do
  [ "$entry" = "$book" ] || ln -s "$entry" "$work/"
done
if ! $full; then
  { echo "# Summary"; echo; chapter_lines; } >"$work/book/src/SUMMARY.md"
  # Notes for the instructor, where a chapter has them, are not for the attendee's desk.
  echo '@media print { .instructor { display: none; } }' >>"$work/book/theme/handout.css"
  # At the desk, the sections SCREEN_ONLY names and the "Going deeper" ones are left out: the
  # book on the screen and the full handout have them, as the set-up chapter says.
  for chapter in $(chapter_lines | sed -E 's/.*\]\(([^)]+\.md)\).*/\1/'); do
    awk -v screen_only="$SCREEN_ONLY" -v going_deeper="$GOING_DEEPER" '
      BEGIN {
        count = split(screen_only, headings, "|")
        for (i = 1; i <= count; i++) on_screen[headings[i]] = 1
      }
      /^(```|~~~)/ { fenced = !fenced }
      !fenced && /^##? / {
        skipping = ($0 in on_screen) || index($0, going_deeper) == 1
        if (skipping) next
      }
      !skipping { print }
    ' "$book/src/$chapter" >"$work/book/src/$chapter"
  done
fi
if [ -n "$html" ]; then
  mkdir -p "$html"
  [ -z "$(ls -A "$html")" ] || { echo "error: $html is not empty (mdBook would empty it)" >&2; exit 2; }
  mdbook build "$work/book" --dest-dir "$(cd "$html" && pwd)"
  exit 0
fi
mdbook build "$work/book"

# mdBook's print.html is the whole (handout) book on one page, with a page break before each
# chapter. The flags keep a headless Chromium from reaching out to the network and from adding
# the date and the file's path in the margins. (Not `--virtual-time-budget`: Chromium 156 then
# writes no PDF at all; it prints once the page and its pictures have loaded anyway.)
rm -f "$output"
mkdir "$work/profile"
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/profile" \
  --no-pdf-header-footer --run-all-compositor-stages-before-draw \
  --print-to-pdf="$output" "file://$work/book/book/print.html" 2>/dev/null
[ -s "$output" ] || { echo "error: $browser wrote no PDF" >&2; exit 1; }
pages=$(pdfinfo "$output" 2>/dev/null | sed -n 's/^Pages: *//p' || true)
echo "wrote $output${pages:+ ($pages pages)}"
