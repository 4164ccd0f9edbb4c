// Issue 15, phones: a list's search and filters fold away on a narrow screen unless some are
// applied (or the form has an error to show). The page is served with them open, so without
// script, and on a wider screen, nothing is hidden.

const NARROW = "(max-width: 40.0525em)"; // below GOV.UK Frontend's tablet breakpoint

export function initFolds(root) {
  if (!window.matchMedia(NARROW).matches) return;
  for (const details of root.querySelectorAll("details[data-fold-narrow]")) {
    if (!("applied" in details.dataset)) details.open = false;
  }
}
