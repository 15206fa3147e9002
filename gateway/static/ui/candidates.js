// Possible matches from a name and date-of-birth search. Nothing opens by
// itself, not even a single likely match: the caseworker opens a candidate
// explicitly, and a possible match needs a second, deliberate confirmation,
// because opening the wrong person's records is a disclosure.

import { agencyLabel } from "./agencies.js";
import { h } from "./dom.js";
import { errorsByPath, markedMasked, maskedCoordinates } from "./panels.js";

const STATUS = {
  LIKELY: { label: "Likely match", className: "tag-likely" },
  POSSIBLE: { label: "Possible match — needs confirmation", className: "tag-possible" },
};

function percent(probability) {
  return `${Math.round(probability * 1000) / 10}%`;
}

// A detail the policy withheld carries a FORBIDDEN error at its own path, with
// the reason; a detail that is simply missing is null without one; a masked one
// (extensions.joinedup.masked) is marked as such.
function detail(value, error, mask) {
  if (error?.extensions?.code === "FORBIDDEN") {
    return h(
      "span",
      { class: "withheld" },
      h("span", { class: "tag tag-withheld" }, "Withheld"),
      " ",
      h("span", { class: "reason" }, error.extensions.reason),
    );
  }
  if (value === null || value === undefined) return h("span", { class: "empty" }, "Not recorded");
  return mask ? markedMasked(String(value), mask) : String(value);
}

function confirmation(label, open, cancel) {
  return h(
    "div",
    { class: "confirm", role: "group", "aria-label": `Confirm ${label}` },
    h(
      "p",
      {},
      h("strong", {}, "This is only a possible match."),
      " Check the details above against what you know about the person. Opening it shows " +
        "this person's records and is recorded in the audit.",
    ),
    h(
      "div",
      { class: "row" },
      h(
        "button",
        { type: "button", class: "confirm-open", onclick: open },
        "Yes, this is the person: open",
        h("span", { class: "visually-hidden" }, ` ${label}`),
      ),
      h("button", { type: "button", class: "plain", onclick: cancel }, "Cancel"),
    ),
  );
}

function candidateItem(candidate, index, agencies, errors, masked, onOpen) {
  const path = `findPerson/candidates/${index}`;
  const status = STATUS[candidate.status] ?? { label: candidate.status, className: "tag-possible" };
  const name = candidate.name ?? "name not shown";
  const label = `candidate ${index + 1}, ${name}`;
  const headingId = `candidate-${index}-heading`;
  const item = h("li", {
    class: `candidate candidate-${candidate.status.toLowerCase()}`,
    "data-status": candidate.status,
    "aria-labelledby": headingId,
  });
  const openButton = h(
    "button",
    { type: "button", class: "open-candidate" },
    "Open this person",
    h("span", { class: "visually-hidden" }, `: ${label}`),
  );
  const closeConfirmation = () => {
    item.querySelector(".confirm")?.remove();
    openButton.hidden = false;
  };
  const cancel = () => {
    closeConfirmation();
    openButton.focus();
  };
  // The candidate on screen is marked, so the list says which one was chosen.
  const open = () => {
    closeConfirmation();
    for (const other of item.parentElement.children) other.removeAttribute("aria-current");
    item.setAttribute("aria-current", "true");
    onOpen(candidate);
  };
  openButton.addEventListener("click", () => {
    if (candidate.status === "LIKELY") {
      open();
      return;
    }
    openButton.hidden = true;
    const asked = confirmation(label, open, cancel);
    item.append(asked);
    asked.querySelector("button").focus();
  });
  const known = candidate.agencies.length
    ? candidate.agencies.map((a) => agencyLabel(agencies, a)).join(", ")
    : h("span", { class: "empty" }, "No agency disclosed");
  item.append(
    h(
      "h3",
      { id: headingId },
      `${index + 1}. `,
      candidate.name === null && !errors.has(`${path}/name`)
        ? h("span", { class: "empty" }, "Name not recorded")
        : detail(candidate.name, errors.get(`${path}/name`), masked.get("PersonCandidate.name")),
    ),
    h(
      "p",
      { class: "candidate-status" },
      h("span", { class: `tag ${status.className}` }, status.label),
      " ",
      h("span", { class: "probability" }, `Match probability ${percent(candidate.probability)}`),
      h(
        "span",
        { class: "bar", "aria-hidden": "true" },
        h("span", { style: `width: ${percent(candidate.probability)}` }),
      ),
    ),
    h(
      "dl",
      {},
      h("dt", {}, "Year of birth"),
      h(
        "dd",
        { "data-field": "yearOfBirth" },
        detail(
          candidate.yearOfBirth,
          errors.get(`${path}/yearOfBirth`),
          masked.get("PersonCandidate.yearOfBirth"),
        ),
      ),
      h("dt", {}, "Postcode district"),
      h(
        "dd",
        { "data-field": "postcodeDistrict" },
        detail(
          candidate.postcodeDistrict,
          errors.get(`${path}/postcodeDistrict`),
          masked.get("PersonCandidate.postcodeDistrict"),
        ),
      ),
      h("dt", {}, "Known to"),
      h("dd", { "data-field": "agencies" }, known),
    ),
    openButton,
  );
  return item;
}

// `body` is the whole GraphQL answer to FIND_PERSON_QUERY.
export function renderCandidates(summary, unavailableList, list, agencies, body, onOpen) {
  const search = body.data?.findPerson;
  const errors = errorsByPath(body.errors);
  const masked = maskedCoordinates(body.extensions);
  const candidates = search?.candidates ?? [];
  const likely = candidates.filter((c) => c.status === "LIKELY").length;
  summary.textContent = candidates.length
    ? `${candidates.length} ${candidates.length === 1 ? "person matches" : "people match"} ` +
      `these details (${likely} likely, ${candidates.length - likely} possible). ` +
      "Nothing is opened until you choose a person."
    : "No one matches these details. Check the spelling and the date of birth, or search " +
      "by an identifier.";
  unavailableList.replaceChildren(
    ...(search?.unavailable ?? []).map((name) =>
      h(
        "li",
        { class: "gap gap-unavailable" },
        h("strong", {}, agencyLabel(agencies, name)),
        " could not be searched: a match there may be missing.",
      ),
    ),
  );
  list.replaceChildren(...candidates.map((c, i) => candidateItem(c, i, agencies, errors, masked, onOpen)));
}
