// A radio that reveals a block of questions (templates/includes/radios.html: GOV.UK's
// conditional reveal) shows it only while it is chosen. Done here rather than by govuk-frontend's
// radios module, which marks the radio aria-expanded, an attribute ARIA does not allow on a radio
// (axe: critical). The block follows its radio, so it is read next. Without JavaScript every
// block is shown.
export function initReveals(root) {
  const radios = [...root.querySelectorAll("input[type=radio][data-reveals]")];
  if (!radios.length) return;
  const sync = () => {
    for (const radio of radios) {
      const block = document.getElementById(radio.dataset.reveals);
      block?.classList.toggle("govuk-radios__conditional--hidden", !radio.checked);
    }
  };
  root.addEventListener("change", sync);
  window.addEventListener("pageshow", sync); // answers the browser restored on "Back"
  sync();
}
