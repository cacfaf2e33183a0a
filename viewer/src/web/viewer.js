// The trace viewer's page: shows new traces as they come, without a reload. Every second it
// asks the viewer for the generation of what it holds; when that has changed, it fetches the
// page again and puts the new <main> in place of the old. The viewer made that HTML with every
// text escaped; it is parsed here as inert HTML (DOMParser runs no script), and the page's
// Content-Security-Policy would run none anyway.
"use strict";

const POLL_MS = 1000;

// The span whose details show: the one named in the address (#span-<id>), which the style
// sheet shows with :target; marked too, as :target does not follow a replaced <main>.
function showSelectedSpan() {
  for (const shown of document.querySelectorAll(".shown, .selected")) {
    shown.classList.remove("shown", "selected");
  }
  const id = decodeURIComponent(location.hash.slice(1));
  if (!id.startsWith("span-")) return;
  const details = document.getElementById(id);
  if (details) details.classList.add("shown");
  const row = document.querySelector(`a.span-row[data-span="${CSS.escape(id.slice(5))}"]`);
  if (row) row.classList.add("selected");
}

async function refresh() {
  const live = document.getElementById("live");
  try {
    const answer = await fetch("/generation", { cache: "no-store" });
    const generation = (await answer.text()).trim();
    // Not while the reader is filling in the filters: the form would be replaced under them.
    const typing = document.activeElement && document.activeElement.matches("main input, main select");
    if (generation !== document.body.dataset.generation && !typing) {
      const page = await fetch(location.href, { cache: "no-store" });
      const html = await page.text();
      const fresh = new DOMParser().parseFromString(html, "text/html");
      const main = fresh.querySelector("main");
      if (main) {
        document.querySelector("main").replaceWith(document.adoptNode(main));
        document.body.dataset.generation = fresh.body.dataset.generation || generation;
        showSelectedSpan();
      }
    }
    if (live) {
      live.textContent = "live";
      live.classList.remove("stale");
    }
  } catch (error) {
    // The viewer has stopped, or is restarting: say so, and keep asking.
    if (live) {
      live.textContent = "not connected";
      live.classList.add("stale");
    }
  }
  setTimeout(refresh, POLL_MS);
}

// A click on a span shows its details beside the waterfall, which stays where it is: the
// address changes (so the back button, and a copied link, lead to the same span), without the
// jump to the details that following a #fragment makes.
document.addEventListener("click", (event) => {
  const row = event.target.closest && event.target.closest("a.span-row");
  if (!row || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  history.pushState(null, "", `#span-${row.dataset.span}`);
  showSelectedSpan();
});
document.documentElement.classList.add("scripted");
addEventListener("hashchange", showSelectedSpan);
addEventListener("popstate", showSelectedSpan);
showSelectedSpan();
setTimeout(refresh, POLL_MS);
