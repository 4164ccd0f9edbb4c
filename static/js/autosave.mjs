// Saves the form as a draft on the server every few seconds when it has changed, and when a
// field is left, so a timeout, a closed tab or a crash loses at most a few seconds of typing.
// Without JavaScript the form's "Save draft" button does the same.

const INTERVAL_MS = 5000;

function snapshot(form) {
  const data = new FormData(form);
  data.delete("attachment"); // files are never kept in drafts
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
  let saved = serialise(snapshot(form));
  let saving = false;

  async function save() {
    const data = snapshot(form);
    const current = serialise(data);
    if (saving || current === saved) return;
    saving = true;
    data.set("autosave", "1");
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
        document.dispatchEvent(new CustomEvent("session:activity"));
        if (status) status.textContent = body.message || "Draft saved";
      } else if (response.status === 401) {
        if (status) {
          status.textContent =
            "You have been signed out. Copy anything you typed in the last few seconds, then sign in again: your draft is saved.";
        }
      } else if (status) {
        status.textContent = body.message || "Your draft could not be saved. Use the Save draft button.";
      }
    } catch {
      if (status) status.textContent = "Your draft could not be saved just now. We will try again.";
    } finally {
      saving = false;
    }
  }

  form.addEventListener("focusout", () => save());
  form.addEventListener("draft:changed", () => save());
  setInterval(save, INTERVAL_MS);
  window.addEventListener("pagehide", () => {
    const data = snapshot(form);
    if (serialise(data) === saved) return;
    data.set("autosave", "1");
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
