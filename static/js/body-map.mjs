// The body map: clicking a region of the front or back outline adds a row of region and note.
// The select list and "Add injury" button do the same by keyboard, and without JavaScript
// the button posts the form and the server adds the row.

function labelFor(select, region) {
  const option = [...select.options].find((o) => o.value === region);
  return option ? option.textContent : region;
}

function renumber(rows) {
  [...rows.querySelectorAll("[data-injury-row]")].forEach((row, index) => {
    const input = row.querySelector("input[name=injury_note]");
    const label = row.querySelector("label");
    const remove = row.querySelector("[data-remove-injury]");
    input.id = `injury-note-${index + 1}`;
    label.htmlFor = input.id;
    remove.value = String(index);
  });
}

export async function initBodyMap(form) {
  const select = form.querySelector("select[name=injury_add_region]");
  const addButton = form.querySelector("[data-add-injury]");
  const table = form.querySelector("#injury-table");
  const rows = form.querySelector("#injury-rows");
  const template = form.querySelector("#injury-row-template");
  if (!select || !addButton || !rows || !template) return;

  function addRow(region) {
    const label = labelFor(select, region);
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector("input[name=injury_region]").value = region;
    row.querySelector("[data-injury-label]").textContent = label;
    row.querySelector("label").textContent = `Describe the injury on the ${label}`;
    row.querySelector("[data-remove-injury] .govuk-visually-hidden").textContent = ` ${label}`;
    rows.appendChild(row);
    table.hidden = false;
    renumber(rows);
    row.querySelector("input[name=injury_note]").focus();
    form.dispatchEvent(new CustomEvent("draft:changed"));
  }

  addButton.addEventListener("click", (event) => {
    event.preventDefault();
    if (select.value) {
      addRow(select.value);
      select.value = "";
    } else {
      select.focus();
    }
  });

  rows.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-injury]");
    if (!button) return;
    event.preventDefault();
    button.closest("[data-injury-row]").remove();
    renumber(rows);
    if (!rows.querySelector("[data-injury-row]")) table.hidden = true;
    select.focus();
    form.dispatchEvent(new CustomEvent("draft:changed"));
  });

  // Replace the picture with the same SVG inline, so its regions can be clicked.
  const holder = form.querySelector("[data-body-map]");
  const image = holder?.querySelector("img");
  if (!image) return;
  try {
    const response = await fetch(image.src, { credentials: "same-origin" });
    const text = await response.text();
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
    if (parsed.nodeName !== "svg") return;
    const svg = document.importNode(parsed, true);
    // Mouse and touch only: keyboard users have the select list, which does the same.
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.addEventListener("click", (event) => {
      const region = event.target.closest("[data-region]");
      if (region) addRow(region.dataset.region);
    });
    image.replaceWith(svg);
  } catch {
    // The picture stays; the select list still works.
  }
}
