// Warns before an idle session ends, offers to keep it, and when it ends reloads the page so
// the server signs the person out and brings them back here after they sign in again.
// The server is the authority (SessionTimeoutMiddleware); this only tells people in time.

let warnTimer;
let endTimer;

function schedule(idleSeconds, warningSeconds, banner) {
  clearTimeout(warnTimer);
  clearTimeout(endTimer);
  banner.hidden = true;
  warnTimer = setTimeout(() => {
    banner.hidden = false;
    banner.querySelector("button")?.focus();
  }, Math.max(0, idleSeconds - warningSeconds) * 1000);
  // A second late, so the server agrees the session has ended.
  endTimer = setTimeout(() => window.location.reload(), (idleSeconds + 1) * 1000);
}

export function initSessionTimeout() {
  const idleSeconds = Number(document.body.dataset.sessionIdleSeconds || 0);
  const warningSeconds = Number(document.body.dataset.sessionWarningSeconds || 0);
  const banner = document.getElementById("session-warning");
  if (!idleSeconds || !banner) return;
  const restart = () => schedule(idleSeconds, warningSeconds, banner);
  restart();
  // Every request the page makes (autosaves) counts as activity on the server too.
  document.addEventListener("session:activity", restart);
  const form = document.getElementById("session-keep-alive");
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
    });
    if (response.ok) {
      restart();
    } else {
      window.location.reload();
    }
  });
}
