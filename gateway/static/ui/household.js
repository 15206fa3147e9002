// The household map: the person on screen at the top, each household member
// in a row below, joined by their relationship, with the agencies that know
// each member marked. The SVG is the picture; the table under it says
// the same in text and holds the keyboard route (one "Open" button per member).
// Every member is under their own policy gates: a withheld member or name is
// shown as withheld with the policy's reason. A link no agency could match to a
// person surely is shown as such, never guessed.

import { agencyLabel, shortTitle } from "./agencies.js";
import { h, svg } from "./dom.js";

const MIN_WIDTH = 1000;
const NODE_WIDTH = 230;
const NODE_GAP = 24;
const SUBJECT_HEIGHT = 60;
const MEMBERS_TOP = 170; // members sit in a row under the person on screen
const BADGE_HEIGHT = 20;
const BADGE_ROW = 25;

function forbidden(error) {
  return error?.extensions?.code === "FORBIDDEN" ? error.extensions.reason : null;
}

// The person's name from the first agency that discloses one, or why none did.
function displayName(person, path, agencies, errors) {
  const reasons = [];
  for (const agency of agencies) {
    const name = person?.[agency.name]?.name;
    if (name) return { name, withheld: null };
    const reason =
      forbidden(errors.get(`${path}/${agency.name}/name`)) ?? forbidden(errors.get(`${path}/${agency.name}`));
    if (reason) reasons.push(reason);
  }
  return { name: null, withheld: reasons[0] ?? null };
}

function memberView(member, index, agencies, errors) {
  const path = `person/household/members/${index}/person`;
  const base = { index, relationship: member.relationship, source: member.source };
  if (!member.person) {
    const reason = forbidden(errors.get(path));
    return { ...base, state: reason ? "withheld" : "unmatched", withheld: reason, person: null, known: [] };
  }
  const named = displayName(member.person, path, agencies, errors);
  const status = (name) => member.person.matches?.find((m) => m.agency === name)?.status;
  return {
    ...base,
    state: named.name ? "shown" : named.withheld ? "name-withheld" : "unnamed",
    withheld: null,
    person: member.person,
    name: named.name,
    nameWithheld: named.withheld,
    known: agencies.filter((a) => status(a.name) === "MATCHED"),
    unavailable: agencies.filter((a) => status(a.name) === "UNAVAILABLE"),
  };
}

function nameText(view) {
  if (view.state === "withheld") return "Person withheld";
  if (view.state === "unmatched") return "Not matched to a person";
  if (view.state === "unnamed") return "Name not recorded";
  return view.name ?? "Name withheld";
}

function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

// Agency badges laid out in rows that fit the node: [{ agency, x, y, width }].
function badgeLayout(known) {
  const placed = [];
  let x = 0;
  let row = 0;
  for (const agency of known) {
    const width = shortTitle(agency).length * 8.4 + 12;
    if (x > 0 && x + width > NODE_WIDTH - 20) {
      x = 0;
      row += 1;
    }
    placed.push({ agency, x, y: row * BADGE_ROW, width });
    x += width + 5;
  }
  return { placed, rows: placed.length ? row + 1 : 0 };
}

function nodeHeight(view) {
  return view.person ? 56 + badgeLayout(view.known).rows * BADGE_ROW : 64;
}

function node(view, x, y, height, colours, onOpen) {
  const openable = Boolean(view.person?.reference);
  const badges = badgeLayout(view.known).placed;
  const NOTES = { withheld: "Withheld: reason below", unmatched: "No agency matched them surely" };
  const lines = !view.person
    ? [svg("text", { x: x + 10, y: y + 46, class: "node-note" }, NOTES[view.state])]
    : [
        svg(
          "text",
          { x: x + 10, y: y + 44, class: "node-detail" },
          view.known.length ? "Known to:" : "No agency involvement found",
        ),
        badges.map((b) =>
          svg(
            "g",
            { class: "badge", "data-agency": b.agency.name },
            svg("rect", {
              x: x + 10 + b.x,
              y: y + 52 + b.y,
              width: b.width,
              height: BADGE_HEIGHT,
              rx: 3,
              fill: colours.get(b.agency.name),
            }),
            svg("text", { x: x + 16 + b.x, y: y + 67 + b.y }, shortTitle(b.agency)),
          ),
        ),
      ];
  return svg(
    "g",
    {
      class: `node node-${view.state}${openable ? " openable" : ""}`,
      "data-member": view.index,
      onclick: openable ? () => onOpen(view) : null,
    },
    svg("rect", { x, y, width: NODE_WIDTH, height, rx: 6, class: "node-box" }),
    svg("text", { x: x + 10, y: y + 22, class: "node-name" }, truncate(nameText(view), 26)),
    lines,
    svg("title", {}, `${nameText(view)} (${view.relationship})${openable ? ": click to open" : ""}`),
  );
}

// The relationship sits on the edge just above the member it describes.
function edge(from, to, relationship) {
  const label = truncate(relationship, 26);
  const width = label.length * 8 + 16;
  return svg(
    "g",
    { class: "edge" },
    svg("path", {
      d: `M ${from.x} ${from.y} C ${from.x} ${to.y - 60}, ${to.x} ${from.y + 40}, ${to.x} ${to.y}`,
    }),
    svg("rect", { x: to.x - width / 2, y: to.y - 40, width, height: 24, rx: 12, class: "edge-label-bg" }),
    svg("text", { x: to.x, y: to.y - 23, "text-anchor": "middle", class: "edge-label" }, label),
  );
}

function map(subjectName, views, colours, onOpen) {
  const width = Math.max(MIN_WIDTH, views.length * (NODE_WIDTH + NODE_GAP) + NODE_GAP);
  const rowHeight = Math.max(...views.map(nodeHeight));
  const height = MEMBERS_TOP + rowHeight + 16;
  const rowLeft = (width - views.length * (NODE_WIDTH + NODE_GAP) + NODE_GAP) / 2;
  const subjectBottom = { x: width / 2, y: 16 + SUBJECT_HEIGHT };
  const subject = svg(
    "g",
    { class: "node node-subject" },
    svg("rect", {
      x: width / 2 - NODE_WIDTH / 2,
      y: 16,
      width: NODE_WIDTH,
      height: SUBJECT_HEIGHT,
      rx: 6,
      class: "node-box",
    }),
    svg("text", { x: width / 2, y: 38, "text-anchor": "middle", class: "node-detail" }, "Person on screen"),
    svg(
      "text",
      { x: width / 2, y: 62, "text-anchor": "middle", class: "node-name" },
      truncate(subjectName, 26),
    ),
  );
  const described = views
    .map((v) => `${nameText(v)}, ${v.relationship}${v.person ? `, known to ${v.known.length} agencies` : ""}`)
    .join("; ");
  const left = (i) => rowLeft + i * (NODE_WIDTH + NODE_GAP);
  return svg(
    "svg",
    {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": "household-svg-title household-svg-desc",
      class: "household-svg",
    },
    svg("title", { id: "household-svg-title" }, "Household map"),
    svg(
      "desc",
      { id: "household-svg-desc" },
      `${views.length} household members: ${described}. The same is listed in the table below.`,
    ),
    views.map((v, i) => edge(subjectBottom, { x: left(i) + NODE_WIDTH / 2, y: MEMBERS_TOP }, v.relationship)),
    subject,
    views.map((v, i) => node(v, left(i), MEMBERS_TOP, rowHeight, colours, onOpen)),
  );
}

function withheldText(reason) {
  return h(
    "span",
    { class: "withheld" },
    h("span", { class: "tag tag-withheld" }, "Withheld"),
    " ",
    h("span", { class: "reason" }, reason),
  );
}

function row(view, agencies, onOpen) {
  let person;
  if (view.state === "withheld") person = withheldText(view.withheld);
  else if (view.state === "unmatched") {
    person = h(
      "span",
      { class: "empty" },
      "Not matched: no agency system matched this link to a person surely",
    );
  } else if (view.name) person = view.name;
  else if (view.nameWithheld) person = [h("span", {}, "Name "), withheldText(view.nameWithheld)];
  else person = h("span", { class: "empty" }, "Name not recorded");
  let known;
  if (!view.person) known = h("span", { class: "empty" }, "Not known");
  else {
    known = [
      view.known.length
        ? view.known.map((a) => shortTitle(a)).join(", ")
        : h("span", { class: "empty" }, "No agency involvement found"),
      view.unavailable.length
        ? h(
            "span",
            { class: "tag tag-unavailable" },
            `Unavailable: ${view.unavailable.map(shortTitle).join(", ")}`,
          )
        : null,
    ];
  }
  const action = view.person?.reference
    ? h(
        "button",
        { type: "button", class: "open-member", onclick: () => onOpen(view) },
        "Open",
        h(
          "span",
          { class: "visually-hidden" },
          ` ${nameText(view)} (${view.relationship}) as the person on screen`,
        ),
      )
    : h("span", { class: "empty" }, "Cannot be opened");
  return h(
    "tr",
    { "data-member": view.index, "data-state": view.state },
    h("td", { class: "member-name" }, person),
    h("td", {}, view.relationship),
    h("td", {}, agencyLabel(agencies, view.source)),
    h("td", { class: "member-agencies" }, known),
    h("td", {}, action),
  );
}

function message(chart, tableBody, tag, text) {
  chart.replaceChildren(h("p", { class: "chart-message" }, tag, " ", text));
  tableBody.replaceChildren(h("tr", {}, h("td", { colspan: 5 }, "No household members to list.")));
}

// `household` is Person.household; `errors` the request's errors by path.
// onOpen(member) opens a member as the person on screen.
export function renderHousehold(chart, tableBody, agencies, colours, person, errors, onOpen) {
  const error = errors.get("person/household");
  const reason = forbidden(error);
  if (reason) {
    const tag = h("span", { class: "tag tag-withheld" }, "Withheld");
    message(chart, tableBody, tag, h("span", { class: "reason" }, reason));
    return;
  }
  if (error) {
    // An agency that is down, or a household too large to resolve: the message says which.
    const down = error.extensions?.code?.startsWith("UPSTREAM");
    const tag = h("span", { class: "tag tag-unavailable" }, down ? "Unavailable" : "Not shown");
    message(chart, tableBody, tag, error.message);
    return;
  }
  const household = person.household;
  if (!household || !household.members.length) {
    message(chart, tableBody, h("span", { class: "empty" }, "No household known"), "for this person.");
    return;
  }
  const views = household.members.map((m, i) => memberView(m, i, agencies, errors));
  const subject = displayName(person, "person", agencies, errors).name ?? "Name withheld";
  chart.replaceChildren(map(subject, views, colours, onOpen));
  tableBody.replaceChildren(...views.map((v) => row(v, agencies, onOpen)));
}

// Whose an event on the household chronology is (its subject key), in words:
// a member by name and relationship, anyone else is the person on screen.
export function householdNames(agencies, person, errors) {
  const names = new Map();
  (person?.household?.members ?? []).forEach((member, index) => {
    if (!member.person?.reference) return;
    const view = memberView(member, index, agencies, errors);
    const { scheme, value } = member.person.reference;
    names.set(`${scheme}:${value}`, `${nameText(view)} (${view.relationship})`);
  });
  const subject = displayName(person, "person", agencies, errors).name ?? "name withheld";
  return (event) => names.get(event.subject) ?? `${subject} (person on screen)`;
}

export function renderHouseholdUnsupported(chart, tableBody, why) {
  const tag = h("span", { class: "tag tag-unavailable" }, "Not available on this gateway");
  message(chart, tableBody, tag, why);
}
