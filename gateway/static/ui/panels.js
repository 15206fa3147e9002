// The single view: one panel per agency, drawn from the agency catalogue
// (Query.agencies), so a new agency needs no page code. Each field is shown
// as its value, as masked (from extensions.joinedup.masked) or as withheld
// with the policy's reason (from the FORBIDDEN error at its path).

import { shortTitle } from "./agencies.js";
import { h } from "./dom.js";

// "dateOfBirth" → "Date of birth"
export function humanise(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const MASK_LABELS = {
  year: "year only",
  postcode_district: "postcode district only",
  initials: "initials only",
  withheld: "value hidden",
};

// Errors keyed by their response path, e.g. "person/council/address".
export function errorsByPath(errors) {
  const byPath = new Map();
  for (const error of errors ?? []) {
    if (error.path) byPath.set(error.path.join("/"), error);
  }
  return byPath;
}

export function maskedCoordinates(extensions) {
  const masked = new Map();
  for (const entry of extensions?.joinedup?.masked ?? []) masked.set(entry.coordinate, entry.mask);
  return masked;
}

function withheld(reason) {
  return h(
    "span",
    { class: "withheld" },
    h("span", { class: "tag tag-withheld" }, "Withheld"),
    " ",
    h("span", { class: "reason" }, reason),
  );
}

function formatValue(field, value) {
  if (value === null || value === undefined) return h("span", { class: "empty" }, "Not recorded");
  if (field.kind === "bool") return value ? "Yes" : "No";
  return String(value);
}

// A value shown masked (e.g. a year instead of a date), marked so it is not taken as data.
export function markedMasked(shown, mask) {
  return h(
    "span",
    { class: "masked" },
    shown,
    " ",
    h("span", { class: "tag tag-masked" }, `Masked: ${MASK_LABELS[mask] ?? mask}`),
  );
}

function valueWithMask(field, value, masked) {
  const mask = masked.get(field.coordinate);
  if (!mask || value === null || value === undefined) return formatValue(field, value);
  return markedMasked(formatValue(field, value), mask);
}

function listTable(field, items, path, errors, masked) {
  if (!items.length) return h("span", { class: "empty" }, "None recorded");
  const columnReasons = new Map();
  const rows = items.map((item, index) =>
    h(
      "tr",
      {},
      field.itemFields.map((itemField) => {
        const error = errors.get(`${path}/${index}/${itemField.name}`);
        if (error?.extensions?.code === "FORBIDDEN") {
          columnReasons.set(itemField.name, error.extensions.reason);
          return h("td", {}, h("span", { class: "tag tag-withheld" }, "Withheld"));
        }
        return h("td", {}, valueWithMask(itemField, item?.[itemField.name], masked));
      }),
    ),
  );
  return h(
    "div",
    // Focusable so keyboard users can scroll a wide table (WCAG 2.1.1).
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": field.description },
    h(
      "table",
      { class: "items" },
      h("caption", { class: "visually-hidden" }, field.description),
      h(
        "thead",
        {},
        h("tr", {}, field.itemFields.map((f) => h("th", { scope: "col", title: f.description }, humanise(f.name)))),
      ),
      h("tbody", {}, rows),
    ),
    [...columnReasons].map(([name, reason]) =>
      h("p", { class: "note" }, `${humanise(name)}: `, withheld(reason)),
    ),
  );
}

function fieldRow(field, section, path, errors, masked) {
  const fieldPath = `${path}/${field.name}`;
  const error = errors.get(fieldPath);
  let value;
  if (error?.extensions?.code === "FORBIDDEN") value = withheld(error.extensions.reason);
  else if (error) value = h("span", { class: "tag tag-unavailable" }, error.message);
  else if (field.kind === "list") value = listTable(field, section[field.name] ?? [], fieldPath, errors, masked);
  else value = valueWithMask(field, section[field.name], masked);
  return [
    h("dt", { title: field.description, "data-field": field.name }, humanise(field.name)),
    h("dd", { "data-field": field.name, class: field.kind === "list" ? "list" : null }, value),
  ];
}

function panelState(agency, person, errors) {
  const error = errors.get(`person/${agency.name}`);
  const match = person.matches?.find((m) => m.agency === agency.name)?.status;
  if (error?.extensions?.code === "FORBIDDEN") {
    return { state: "withheld", body: h("p", {}, withheld(error.extensions.reason)) };
  }
  if (error || match === "UNAVAILABLE") {
    const code = error?.extensions?.code ?? "UPSTREAM_UNAVAILABLE";
    return {
      state: "unavailable",
      body: h(
        "p",
        {},
        h("span", { class: "tag tag-unavailable" }, "Unavailable"),
        " ",
        error?.message ?? `The ${agency.name} system could not answer.`,
        h("span", { class: "code" }, ` (${code})`),
      ),
    };
  }
  if (person[agency.name] === null || person[agency.name] === undefined) {
    return { state: "not-found", body: h("p", { class: "empty" }, "No record held for this person.") };
  }
  return { state: "ok", body: null };
}

export function renderPanels(container, agencies, person, errors, masked) {
  container.replaceChildren(
    ...agencies.map((agency) => {
      const { state, body } = panelState(agency, person, errors);
      const headingId = `panel-${agency.name}-heading`;
      const section = person[agency.name];
      return h(
        "section",
        {
          class: `panel panel-${state}`,
          "aria-labelledby": headingId,
          "data-agency": agency.name,
          "data-state": state,
        },
        h("h3", { id: headingId }, agency.title),
        body ??
          h(
            "dl",
            {},
            agency.fields.map((field) =>
              fieldRow(field, section, `person/${agency.name}`, errors, masked),
            ),
          ),
      );
    }),
  );
}

export function renderMatches(list, agencies, person) {
  const labels = { MATCHED: "record found", NOT_FOUND: "no record", UNAVAILABLE: "unavailable" };
  list.replaceChildren(
    ...agencies.map((agency) => {
      const status = person.matches?.find((m) => m.agency === agency.name)?.status ?? "NOT_FOUND";
      return h(
        "li",
        { class: `match match-${status.toLowerCase()}` },
        `${shortTitle(agency)}: ${labels[status] ?? status}`,
      );
    }),
  );
}
