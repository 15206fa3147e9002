// The caseworker page: sign in (demo), declare a purpose, find a person, see
// the single view and the chronology, or ask for emergency access.
//
// Extension points, not built yet:
// - name + date-of-birth search with possible matches to confirm (issue 5):
//   a second search form beside #search-form, ending in showPerson(reference);
// - the household map (issue 5's household links): a section after #chronology.

import {
  CATALOGUE_QUERY,
  CHRONOLOGY_QUERY,
  GatewayError,
  demoToken,
  demoUsers,
  graphql,
  personQuery,
} from "./api.js";
import { renderChronology } from "./chronology.js";
import { h } from "./dom.js";
import { errorsByPath, maskedCoordinates, renderMatches, renderPanels } from "./panels.js";

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // { token, user }
  purpose: "",
  agencies: null, // Query.agencies, loaded once signed in with a purpose
  reference: null, // { scheme, value } of the person on screen
};

function say(message) {
  $("status").textContent = message;
}

function alertError(error) {
  const message =
    error instanceof GatewayError
      ? `${error.message} (${error.code})`
      : `The gateway could not be reached: ${error.message}`;
  $("alert").replaceChildren(h("p", {}, message));
}

function clearAlert() {
  $("alert").replaceChildren();
}

async function busy(message, work) {
  clearAlert();
  say(message);
  try {
    await work();
  } catch (error) {
    say("");
    alertError(error);
  }
}

// --- sign in -----------------------------------------------------------------

async function loadDemoUsers() {
  const { users, purposes } = await demoUsers();
  $("demo-user").replaceChildren(
    ...users.map((u) =>
      h("option", { value: u.id }, `${u.name} — ${u.roleTitle} (${u.team ?? u.org})`),
    ),
  );
  $("purpose").append(
    ...purposes.map((p) => h("option", { value: p.id, "data-lawful-basis": p.lawfulBasis }, p.title)),
  );
}

async function signIn(event) {
  event.preventDefault();
  await busy("Signing in…", async () => {
    const { token, user } = await demoToken($("demo-user").value);
    state.session = { token, user };
    $("session-user").textContent = user.name;
    $("session-role").textContent = `${user.roleTitle}, ${user.team ?? user.org}`;
    $("session").hidden = false;
    $("sign-in").hidden = true;
    $("search").hidden = false;
    say(`Signed in as ${user.name}. Choose a purpose of use.`);
    $("purpose").focus();
  });
}

function signOut() {
  hidePerson();
  Object.assign(state, { session: null, purpose: "", agencies: null });
  for (const id of ["session", "search"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  $("purpose").value = "";
  $("lawful-basis").textContent = "";
  $("scheme").replaceChildren();
  $("scheme").disabled = true;
  clearAlert();
  say("Signed out.");
  $("demo-user").focus();
}

// --- purpose and the agency catalogue ----------------------------------------

function request(query, variables, breakGlassReason) {
  return graphql({
    token: state.session.token,
    purpose: state.purpose,
    query,
    variables,
    breakGlassReason,
  });
}

function hidePerson() {
  // Nothing seen under one purpose stays on screen under another.
  for (const id of ["person", "chronology", "break-glass"]) $(id).hidden = true;
  for (const id of ["panels", "matches", "chronology-chart", "chronology-gaps", "break-glass-banner"]) {
    $(id).replaceChildren();
  }
  $("events-table").tBodies[0].replaceChildren();
  state.reference = null;
}

async function choosePurpose() {
  state.purpose = $("purpose").value;
  const basis = $("purpose").selectedOptions[0]?.dataset.lawfulBasis;
  $("lawful-basis").textContent = basis ? `Lawful basis: ${basis}` : "";
  hidePerson();
  if (!state.purpose || state.agencies) return;
  await busy("Loading the agency catalogue…", async () => {
    const body = await request(CATALOGUE_QUERY, {});
    state.agencies = body.data.agencies;
    const schemes = [...new Set(state.agencies.flatMap((a) => a.lookupSchemes))].sort();
    $("scheme").replaceChildren(...schemes.map((s) => h("option", { value: s }, s.replaceAll("_", " "))));
    $("scheme").disabled = false;
    $("agency-filters").replaceChildren(
      h("legend", {}, "Agencies"),
      ...state.agencies
        .filter((a) => a.events.length)
        .map((a) =>
          h(
            "label",
            { class: "check" },
            h("input", { type: "checkbox", name: "agency", value: a.name, checked: true }),
            ` ${a.title}`,
          ),
        ),
    );
    say(`Purpose: ${$("purpose").selectedOptions[0].textContent}. Find a person by identifier.`);
  });
}

// --- the person --------------------------------------------------------------

function chronologyFilters() {
  const agencies = [...document.querySelectorAll("#agency-filters input:checked")].map((i) => i.value);
  const all = document.querySelectorAll("#agency-filters input").length;
  return {
    since: $("since").value || null,
    until: $("until").value || null,
    agencies: agencies.length === all ? null : agencies,
  };
}

function timelineLanes() {
  const chosen = chronologyFilters().agencies;
  return state.agencies.filter((a) => a.events.length && (!chosen || chosen.includes(a.name)));
}

function showChronology(body) {
  const person = body.data?.person;
  renderChronology(
    $("chronology-chart"),
    $("chronology-gaps"),
    $("events-table").tBodies[0],
    timelineLanes(),
    person?.timeline,
    errorsByPath(body.errors).get("person/timeline"),
  );
}

function breakGlassOutcome(body, reason) {
  // The gateway confirms an honoured break-glass in extensions.joinedup.breakGlass.
  const confirmed = body.extensions?.joinedup?.breakGlass;
  const requestId = body.extensions?.joinedup?.requestId ?? "unknown";
  return h(
    "div",
    { class: "emergency-banner", role: "note" },
    h("h3", {}, "Emergency access requested"),
    h("p", {}, "Reason given: ", h("q", {}, reason)),
    h(
      "p",
      {},
      h("strong", {}, "This access will be reviewed."),
      ` It is recorded in the audit under request ${requestId}.`,
    ),
    confirmed
      ? h("p", {}, "The gateway granted emergency access; the view below reflects it.")
      : h(
          "p",
          { class: "not-confirmed" },
          "The gateway did not confirm emergency access, so the view below shows only what " +
            "your normal access allows.",
        ),
  );
}

async function showPerson(reference, breakGlassReason) {
  const body = await request(
    personQuery(state.agencies),
    { ref: reference, ...chronologyFilters() },
    breakGlassReason,
  );
  const errors = errorsByPath(body.errors);
  const person = body.data?.person;
  $("break-glass-banner").replaceChildren(
    ...(breakGlassReason ? [breakGlassOutcome(body, breakGlassReason)] : []),
  );
  if (!person) {
    // Not found, or a field every person view needs was withheld: say which, and why.
    const reasons = (body.errors ?? []).filter((e) => e.path?.[0] === "person");
    hidePerson();
    say("");
    $("alert").replaceChildren(
      ...(reasons.length
        ? reasons.map((e) => h("p", {}, `${e.message} (${e.extensions?.code})`))
        : [h("p", {}, "No person found.")]),
    );
    return;
  }
  state.reference = reference;
  const requestId = body.extensions?.joinedup?.requestId;
  $("person-summary").replaceChildren(
    `${reference.scheme.replaceAll("_", " ")} ${reference.value} · purpose: `,
    h("strong", {}, $("purpose").selectedOptions[0].textContent),
    ` · request ${requestId}`,
  );
  renderMatches($("matches"), state.agencies, person);
  renderPanels($("panels"), state.agencies, person, errors, maskedCoordinates(body.extensions));
  showChronology(body);
  for (const id of ["person", "chronology", "break-glass"]) $(id).hidden = false;
  say(`Showing ${reference.value}.`);
  $("person-heading").focus();
}

function resetChronologyFilters() {
  $("since").value = "";
  $("until").value = "";
  for (const box of document.querySelectorAll("#agency-filters input")) box.checked = true;
}

async function search(event) {
  event.preventDefault();
  if (!state.agencies) await choosePurpose();
  resetChronologyFilters(); // a new person starts with the whole chronology
  const reference = { scheme: $("scheme").value, value: $("identifier").value.trim() };
  await busy(`Looking up ${reference.value}…`, () => showPerson(reference));
}

async function filterChronology(event) {
  event.preventDefault();
  await busy("Updating the chronology…", async () => {
    const body = await request(CHRONOLOGY_QUERY, { ref: state.reference, ...chronologyFilters() });
    showChronology(body);
    say(`Chronology updated: ${body.data?.person?.timeline?.events.length ?? 0} events.`);
  });
}

async function breakGlass(event) {
  event.preventDefault();
  const reason = $("break-glass-reason").value.trim();
  await busy("Requesting emergency access…", () => showPerson(state.reference, reason));
}

// --- start -------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("purpose").addEventListener("change", choosePurpose);
$("search-form").addEventListener("submit", search);
$("chronology-filters").addEventListener("submit", filterChronology);
$("break-glass-form").addEventListener("submit", breakGlass);
busy("Loading demo users…", async () => {
  await loadDemoUsers();
  say("");
});
