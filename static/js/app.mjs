// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "/static/govuk/govuk-frontend.min.js";
import { initAutosave } from "./autosave.mjs";
import { initBodyMap } from "./body-map.mjs";
import { initFolds } from "./fold.mjs";
import { initQueueRefresh } from "./queue-refresh.mjs";
import { initReveals } from "./reveal.mjs";
import { initSessionTimeout } from "./session.mjs";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
initSessionTimeout();
initReveals(document);
initFolds(document);
for (const form of document.querySelectorAll("form[data-autosave]")) {
  initAutosave(form);
}
for (const form of document.querySelectorAll("form[data-autosave]")) {
  if (form.querySelector("[data-body-map]") || form.querySelector("[data-add-injury]")) {
    initBodyMap(form);
  }
}
for (const container of document.querySelectorAll("[data-queue]")) {
  initQueueRefresh(container);
}
