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
  // Span ids are hex digits: nothing to decode.
  const id = location.hash.slice(1);
  if (!id.startsWith("span-")) return;
  const details = document.getElementById(id);
  if (details) details.classList.add("shown");
  const row = document.querySelector(`a.span-row[data-span="${CSS.escape(id.slice(5))}"]`);
  if (row) row.classList.add("selected");
}

// The <main> last fetched, to replace the page's only when it has changed.
let lastMain = null;

async function refresh() {
  const live = document.getElementById("live");
  try {
    const answer = await fetch("/generation", { cache: "no-store" });
    const generation = (await answer.text()).trim();
    // Not while the reader is in the page's form or on one of its links: what they are using
    // would be replaced under them. Nor while the page is not shown.
    const using = document.activeElement && document.activeElement.closest("main");
    if (generation !== document.body.dataset.generation && !using && !document.hidden) {
      const page = await fetch(location.href, { cache: "no-store" });
      const fresh = new DOMParser().parseFromString(await page.text(), "text/html");
      const main = fresh.querySelector("main");
      document.body.dataset.generation = fresh.body.dataset.generation || generation;
      if (main && main.innerHTML !== lastMain) {
        lastMain = main.innerHTML;
        // The details pane keeps where it was scrolled to.
        const details = document.querySelector(".details");
        const scrolled = details ? details.scrollTop : 0;
        document.querySelector("main").replaceWith(document.adoptNode(main));
        const replaced = document.querySelector(".details");
        if (replaced) replaced.scrollTop = scrolled;
        showSelectedSpan();
      }
    }
    if (live) {
      const waiting = using && generation !== document.body.dataset.generation;
      live.textContent = waiting ? "new data: click outside to show it" : "live";
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
setTimeout(refresh, POLL_MS);
showSelectedSpan();
