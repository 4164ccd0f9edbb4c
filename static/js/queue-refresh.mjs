// Keeps the triage queue current without losing the reader's place: it re-reads the same
// address (so the same filters and the same page) and swaps in the new rows, keeping the
// scroll position and the keyboard focus. Without script the page has a Refresh link.

const SWAPPED = ["#queue-rows", "#queue-pages", "#queue-status"];

function focusKey(element) {
  const row = element?.closest("[data-referral]");
  if (!row) return null;
  const links = [...row.querySelectorAll("a, button")];
  return { referral: row.dataset.referral, index: Math.max(links.indexOf(element), 0) };
}

function restoreFocus(key) {
  if (!key) return;
  const row = document.querySelector(`#queue-rows [data-referral="${CSS.escape(key.referral)}"]`);
  const target = row?.querySelectorAll("a, button")[key.index];
  // The referral may have left the queue (claimed and decided elsewhere): focus the table.
  (target || document.getElementById("queue-table"))?.focus({ preventScroll: true });
}

async function refresh(container, { background }) {
  const headers = { "X-Requested-With": "fetch" };
  // A timed refresh is not the person doing something: it must not keep the session alive.
  if (background) headers["X-Background-Refresh"] = "1";
  let response;
  try {
    response = await fetch(window.location.href, { headers, credentials: "same-origin" });
  } catch {
    return; // offline for a moment: the next tick tries again
  }
  if (response.status === 401 || response.redirected) {
    window.location.reload(); // signed out: the server shows why
    return;
  }
  if (!response.ok) return;
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  const focus = focusKey(document.activeElement);
  const { scrollX, scrollY } = window;
  for (const selector of SWAPPED) {
    const current = container.querySelector(selector);
    const fresh = next.querySelector(selector);
    if (current && fresh) current.replaceWith(document.importNode(fresh, true));
  }
  restoreFocus(focus);
  window.scrollTo(scrollX, scrollY);
  bindLink(container);
}

function bindLink(container) {
  const link = container.querySelector("[data-queue-refresh]");
  link?.addEventListener("click", (event) => {
    event.preventDefault();
    refresh(container, { background: false });
  });
}

export function initQueueRefresh(container) {
  const seconds = Number(container.dataset.refreshSeconds || 0);
  const table = document.getElementById("queue-table");
  table?.setAttribute("tabindex", "-1");
  bindLink(container);
  if (!seconds) return;
  setInterval(() => {
    if (document.visibilityState === "visible") refresh(container, { background: true });
  }, seconds * 1000);
}
