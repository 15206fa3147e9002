// The caseworker page: sign in (demo), declare a purpose, find a person by
// identifier or by name and date of birth (confirming a candidate), see the
// single view, the chronology and the household, or ask for emergency access.

import {
  CAPABILITIES_QUERY,
  CATALOGUE_QUERY,
  FIND_PERSON_QUERY,
  GatewayError,
  capabilitiesFrom,
  chronologyQuery,
  demoToken,
  demoUsers,
  graphql,
  personQuery,
} from "./api.js";
import { shortTitle } from "./agencies.js";
import { renderCandidates } from "./candidates.js";
import { agencyColours, renderChronology } from "./chronology.js";
import { h } from "./dom.js";
import { householdNames, renderHousehold, renderHouseholdUnsupported } from "./household.js";
import { errorsByPath, maskedCoordinates, renderMatches, renderPanels } from "./panels.js";

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // { token, user }
  purpose: "",
  agencies: null, // Query.agencies, loaded once signed in with a purpose
  colours: null, // agency name → colour, the same in every chart
  capabilities: null, // what this gateway's schema offers (capabilitiesFrom)
  reference: null, // { scheme, value } of the person on screen
  origin: null, // how the person on screen was found, in words
  whose: null, // household chronology event → whose it is, in words (householdNames)
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
  hideCandidates();
  Object.assign(state, { session: null, purpose: "", agencies: null, capabilities: null });
  for (const id of ["session", "search"]) $(id).hidden = true;
  $("sign-in").hidden = false;
  $("purpose").value = "";
  $("lawful-basis").textContent = "";
  $("scheme").replaceChildren();
  $("scheme").disabled = true;
  $("demographics-fields").disabled = true;
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

const PERSON_SECTIONS = ["person", "chronology", "household", "break-glass"];

function hidePerson() {
  // Nothing seen under one purpose stays on screen under another.
  for (const id of PERSON_SECTIONS) $(id).hidden = true;
  for (const id of [
    "panels",
    "matches",
    "chronology-chart",
    "chronology-gaps",
    "break-glass-banner",
    "household-map",
    "household-chronology-chart",
    "household-chronology-gaps",
  ]) {
    $(id).replaceChildren();
  }
  for (const id of ["events-table", "household-table", "household-events-table"]) {
    $(id).tBodies[0].replaceChildren();
  }
  $("household-chronology").hidden = true;
  state.reference = null;
  state.origin = null;
}

function hideCandidates() {
  $("candidates").hidden = true;
  for (const id of ["candidates-summary", "candidates-unavailable", "candidate-list"]) {
    $(id).replaceChildren();
  }
}

// A gateway without a feature's schema (introspection says) shows the feature as
// not available rather than failing when it is used.
async function loadCapabilities() {
  let body;
  try {
    body = await request(CAPABILITIES_QUERY, {});
  } catch (error) {
    body = { errors: [{ message: error.message }] };
  }
  state.capabilities = capabilitiesFrom(body);
  const why = state.capabilities.reason ? ` (${state.capabilities.reason})` : "";
  $("demographics-fields").disabled = !state.capabilities.findPerson;
  $("demographics-note").replaceChildren(
    state.capabilities.findPerson
      ? "Shows possible matches for you to confirm; nobody is opened automatically."
      : h(
          "span",
          { class: "tag tag-unavailable" },
          `Not available on this gateway: it offers no search by name and date of birth${why}.`,
        ),
  );
}

async function choosePurpose() {
  state.purpose = $("purpose").value;
  const basis = $("purpose").selectedOptions[0]?.dataset.lawfulBasis;
  $("lawful-basis").textContent = basis ? `Lawful basis: ${basis}` : "";
  hidePerson();
  hideCandidates();
  if (!state.purpose || state.agencies) return;
  await busy("Loading the agency catalogue…", async () => {
    const body = await request(CATALOGUE_QUERY, {});
    state.agencies = body.data.agencies;
    state.colours = agencyColours(state.agencies);
    await loadCapabilities();
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
            ` ${shortTitle(a)}`,
          ),
        ),
    );
    const ways = state.capabilities.findPerson
      ? "by identifier or by name and date of birth"
      : "by identifier";
    say(`Purpose: ${$("purpose").selectedOptions[0].textContent}. Find a person ${ways}.`);
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
  const errors = errorsByPath(body.errors);
  renderChronology({
    chart: $("chronology-chart"),
    gapList: $("chronology-gaps"),
    tableBody: $("events-table").tBodies[0],
    lanes: timelineLanes(),
    colours: state.colours,
    timeline: person?.timeline,
    error: errors.get("person/timeline"),
    title: "Multi-agency chronology",
  });
  if (!state.capabilities.householdTimeline) return;
  const withheld = errors.get("person/household");
  $("household-chronology").hidden = !person?.household && !withheld;
  renderChronology({
    chart: $("household-chronology-chart"),
    gapList: $("household-chronology-gaps"),
    tableBody: $("household-events-table").tBodies[0],
    lanes: timelineLanes(),
    colours: state.colours,
    timeline: person?.household?.timeline,
    error: withheld ?? errors.get("person/household/timeline"),
    title: "Household chronology",
    whose: state.whose,
  });
}

function showHousehold(person, errors) {
  if (!state.capabilities.household) {
    const why = state.capabilities.reason ? ` (${state.capabilities.reason})` : "";
    renderHouseholdUnsupported(
      $("household-map"),
      $("household-table").tBodies[0],
      `This gateway's schema has no households${why}.`,
    );
    return;
  }
  renderHousehold(
    $("household-map"),
    $("household-table").tBodies[0],
    state.agencies,
    state.colours,
    person,
    errors,
    openMember,
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

// `origin` says in words how the person was found (shown instead of an opaque
// match token); breakGlassReason, when given, asks for emergency access.
async function showPerson(reference, { origin = null, breakGlassReason = null } = {}) {
  const body = await request(
    personQuery(state.agencies, state.capabilities),
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
  state.origin = origin;
  const requestId = body.extensions?.joinedup?.requestId;
  $("person-summary").replaceChildren(
    origin ?? `${reference.scheme.replaceAll("_", " ")} ${reference.value}`,
    " · purpose: ",
    h("strong", {}, $("purpose").selectedOptions[0].textContent),
    ` · request ${requestId}`,
  );
  renderMatches($("matches"), state.agencies, person);
  renderPanels($("panels"), state.agencies, person, errors, maskedCoordinates(body.extensions));
  state.whose = householdNames(state.agencies, person, errors);
  showChronology(body);
  showHousehold(person, errors);
  for (const id of PERSON_SECTIONS) $(id).hidden = false;
  say(`Showing ${origin ?? reference.value}.`);
  $("person-heading").focus();
}

function openMember(member) {
  resetChronologyFilters();
  hideCandidates();
  const origin = `Household member (${member.relationship}) opened from the household map`;
  busy("Opening the household member…", () => showPerson(member.person.reference, { origin }));
}

function openCandidate(candidate) {
  resetChronologyFilters();
  const percent = Math.round(candidate.probability * 1000) / 10;
  const origin =
    `Confirmed by you from a name and date of birth search ` +
    `(${candidate.status.toLowerCase()} match, probability ${percent}%)`;
  busy("Opening the person you confirmed…", () => showPerson(candidate.reference, { origin }));
}

function purposeChosen() {
  if (state.purpose && state.agencies) return true;
  $("alert").replaceChildren(h("p", {}, "Choose a purpose of use first."));
  $("purpose").focus();
  return false;
}

function demographics() {
  const postcode = $("postcode").value.trim();
  return {
    givenName: $("given-name").value.trim(),
    familyName: $("family-name").value.trim(),
    dateOfBirth: $("date-of-birth").value,
    ...(postcode ? { postcode } : {}),
  };
}

async function searchByDemographics(event) {
  event.preventDefault();
  if (!purposeChosen()) return;
  await busy("Searching by name and date of birth…", async () => {
    const body = await request(FIND_PERSON_QUERY, { demographics: demographics() });
    if (!body.data?.findPerson) {
      // Refused (the policy's reason) or bad input (the gateway's message).
      const error = body.errors?.[0];
      throw new GatewayError(
        error?.extensions?.reason ?? error?.message ?? "The search did not answer.",
        error?.extensions?.code ?? "SEARCH_FAILED",
        200,
      );
    }
    hidePerson();
    renderCandidates(
      $("candidates-summary"),
      $("candidates-unavailable"),
      $("candidate-list"),
      state.agencies,
      body,
      openCandidate,
    );
    $("candidates").hidden = false;
    say($("candidates-summary").textContent);
    $("candidates-heading").focus();
  });
}

function resetChronologyFilters() {
  $("since").value = "";
  $("until").value = "";
  for (const box of document.querySelectorAll("#agency-filters input")) box.checked = true;
}

async function search(event) {
  event.preventDefault();
  if (!purposeChosen()) return;
  hideCandidates();
  resetChronologyFilters(); // a new person starts with the whole chronology
  const reference = { scheme: $("scheme").value, value: $("identifier").value.trim() };
  await busy(`Looking up ${reference.value}…`, () => showPerson(reference));
}

async function filterChronology(event) {
  event.preventDefault();
  await busy("Updating the chronology…", async () => {
    const body = await request(chronologyQuery(state.capabilities), {
      ref: state.reference,
      ...chronologyFilters(),
    });
    showChronology(body);
    say(`Chronology updated: ${body.data?.person?.timeline?.events.length ?? 0} events.`);
  });
}

async function breakGlass(event) {
  event.preventDefault();
  const reason = $("break-glass-reason").value.trim();
  await busy("Requesting emergency access…", () =>
    showPerson(state.reference, { origin: state.origin, breakGlassReason: reason }),
  );
}

// --- start -------------------------------------------------------------------

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("purpose").addEventListener("change", choosePurpose);
$("search-form").addEventListener("submit", search);
$("demographics-form").addEventListener("submit", searchByDemographics);
$("chronology-filters").addEventListener("submit", filterChronology);
$("break-glass-form").addEventListener("submit", breakGlass);
busy("Loading demo users…", async () => {
  await loadDemoUsers();
  say("");
});
