// Saves the form as a draft on the server every few seconds when it has changed, and when a
// field is left, so a timeout, a closed tab or a crash loses at most a few seconds of typing.
// Without JavaScript the form's "Save draft" button does the same.
//
// Every save carries a version: a counter seeded from the form's hidden draft_version (the
// stored draft's), one higher with every save. The server refuses a save lower than the one it
// holds, so a save still on its way when the form is posted cannot undo what was posted: the
// form itself is posted numbered above every save made before it.

const INTERVAL_MS = 5000;
// How long a posted form waits for a save still on its way before it goes anyway.
const WAIT_FOR_SAVE_MS = 3000;

function snapshot(form) {
  const data = new FormData(form);
  data.delete("attachment"); // files are never kept in drafts
  data.delete("draft_version"); // sent apart: it changes with every save
  return data;
}

function serialise(data) {
  const pairs = [];
  for (const [key, value] of data.entries()) {
    if (key !== "csrfmiddlewaretoken") pairs.push([key, String(value)]);
  }
  return JSON.stringify(pairs);
}

export function initAutosave(form) {
  const status = form.querySelector("#autosave-status");
  const versionInput = form.querySelector("[data-draft-version]");
  let version = Number(versionInput?.value) || 0;
  let saved = serialise(snapshot(form));
  let inFlight = null; // the save on its way, if any
  let stopped = false; // the form was posted, or another window or tab saved newer answers
  let waitedForSave = false;

  function say(text) {
    if (status) status.textContent = text;
  }

  function nextVersion() {
    version += 1;
    return String(version);
  }

  async function send(data, current) {
    try {
      const response = await fetch(form.action || window.location.href, {
        method: "POST",
        body: data,
        headers: { "X-Requested-With": "fetch", Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        saved = current;
        // The server may hold a higher number than this page sent: keep above it.
        version = Math.max(version, Number(body.version) || 0);
        document.dispatchEvent(new CustomEvent("session:activity"));
        say(body.message || "Draft saved");
      } else if (response.status === 409) {
        // Newer answers were saved from another window or tab: stop rather than fight them.
        stopped = true;
        say(body.message || "These answers were changed in another window or tab.");
      } else if (response.status === 401) {
        say(
          "You have been signed out. Copy anything you typed in the last few seconds, then sign in again: your draft is saved.",
        );
      } else {
        say(body.message || "Your draft could not be saved. Use the Save draft button.");
      }
    } catch {
      say("Your draft could not be saved just now. We will try again.");
    }
  }

  async function save() {
    if (stopped || inFlight) return;
    const data = snapshot(form);
    const current = serialise(data);
    if (current === saved) return;
    data.set("autosave", "1");
    data.set("draft_version", nextVersion());
    inFlight = send(data, current);
    try {
      await inFlight;
    } finally {
      inFlight = null;
    }
  }

  form.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return;
    if (inFlight && !waitedForSave) {
      // Let the save on its way arrive first (briefly), then post the form.
      event.preventDefault();
      waitedForSave = true;
      const submitter = event.submitter;
      const timeout = new Promise((resolve) => setTimeout(resolve, WAIT_FOR_SAVE_MS));
      Promise.race([inFlight, timeout]).then(() => form.requestSubmit(submitter));
      return;
    }
    stopped = true;
    if (versionInput) versionInput.value = nextVersion(); // above every save made so far
  });
  // Back to this page from the next one: carry on saving, above the version it posted.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      stopped = false;
      waitedForSave = false;
    }
  });

  form.addEventListener("focusout", () => save());
  form.addEventListener("draft:changed", () => save());
  setInterval(save, INTERVAL_MS);
  window.addEventListener("pagehide", () => {
    if (stopped) return;
    const data = snapshot(form);
    if (serialise(data) === saved) return;
    data.set("autosave", "1");
    data.set("draft_version", nextVersion());
    navigator.sendBeacon(form.action || window.location.href, data);
  });
  // A text box's Enter would otherwise press the first button in the form (Add injury).
  form.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Enter" && target instanceof HTMLInputElement && target.type !== "submit") {
      event.preventDefault();
    }
  });
}
