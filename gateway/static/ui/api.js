// Talking to the gateway: demo sign-in, GraphQL with the caller's token and
// declared purpose, and the break-glass header. Nothing else in the page
// knows URLs or header names.

export const PURPOSE_HEADER = "X-Purpose-Of-Use";
// Break-glass is requested with this header carrying the reason. Kept here,
// in one place, so it can follow the gateway's break-glass contract.
export const BREAK_GLASS_HEADER = "X-Break-Glass-Reason";

export class GatewayError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function readJson(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // fall through: reported below with the HTTP status
  }
  if (!response.ok) {
    const error = body?.errors?.[0];
    throw new GatewayError(
      error?.message ?? `The gateway answered HTTP ${response.status}`,
      error?.extensions?.code ?? "HTTP_ERROR",
      response.status,
    );
  }
  return body;
}

export async function demoUsers() {
  return readJson(await fetch("/demo/users"));
}

export async function demoToken(userId) {
  const response = await fetch("/demo/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: userId }),
  });
  return readJson(response);
}

// HTTP header values are Latin-1: a reason pasted with curly quotes or emoji
// cannot be sent as typed, and is refused with a clear message rather than altered.
function headerSafe(text) {
  const unsendable = [...new Set([...text].filter((c) => c.codePointAt(0) > 0xff))];
  if (unsendable.length) {
    throw new GatewayError(
      `The reason cannot be sent with these characters: ${unsendable.join(" ")}. ` +
        "Please retype them as plain text.",
      "REASON_NOT_SENDABLE",
      0,
    );
  }
  return text;
}

// One GraphQL request. Returns the whole body: data, errors (field-level:
// withheld, unavailable) and extensions.joinedup (request id, masked, ...).
export async function graphql({ token, purpose, query, variables, breakGlassReason }) {
  const headers = {
    "Content-Type": "application/json",
    Authorization: `Bearer ${token}`,
    [PURPOSE_HEADER]: purpose,
  };
  if (breakGlassReason) headers[BREAK_GLASS_HEADER] = headerSafe(breakGlassReason);
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return readJson(response);
}

export const CATALOGUE_QUERY = `query Catalogue {
  agencies {
    name title sectionType lookupSchemes
    fields { name coordinate kind description
             itemFields { name coordinate kind description } }
    events { kind listField }
  }
}`;

const TIMELINE_SELECTION = `timeline(since: $since, until: $until, agencies: $agencies) {
      events { date agency kind summary }
      gaps { agency code reason }
    }`;

// The household's chronology names each event's person (subject: their key).
const HOUSEHOLD_TIMELINE_SELECTION = `timeline(from: $since, to: $until, agencies: $agencies) {
      events { date agency kind summary subject }
      gaps { agency code reason }
    }`;

function selection(fields) {
  return fields
    .map((f) => (f.kind === "list" ? `${f.name} { ${selection(f.itemFields)} }` : f.name))
    .join(" ");
}

// What this gateway's schema offers beyond the single view. Features built by
// other parts of the gateway (name and date-of-birth search, households) are
// shown only when the schema has them; introspection tells.
export const CAPABILITIES_QUERY = `query Capabilities {
  query: __type(name: "Query") { fields { name } }
  person: __type(name: "Person") { fields { name } }
  household: __type(name: "Household") { fields { name } }
}`;

function fieldNames(type) {
  return new Set((type?.fields ?? []).map((f) => f.name));
}

// { findPerson, household, householdTimeline, reason }: reason says why a
// feature is off when the gateway refused to describe its schema.
export function capabilitiesFrom(body) {
  if (!body?.data) {
    const why = body?.errors?.[0]?.message ?? "no answer";
    return { findPerson: false, household: false, householdTimeline: false, reason: why };
  }
  const household = fieldNames(body.data.person).has("household");
  return {
    findPerson: fieldNames(body.data.query).has("findPerson"),
    household,
    householdTimeline: household && fieldNames(body.data.household).has("timeline"),
    reason: null,
  };
}

export const FIND_PERSON_QUERY = `query FindPerson($demographics: DemographicsInput!) {
  findPerson(demographics: $demographics) {
    candidates {
      reference { scheme value }
      probability status name yearOfBirth postcodeDistrict agencies
    }
    unavailable
  }
}`;

// Each household member is a person under their own policy gates: the map
// asks only for what it draws (a name from each agency that records one, and
// where the member is known), and shows the rest as withheld.
function householdSelection(agencies, capabilities) {
  const names = agencies
    .filter((a) => a.fields.some((f) => f.name === "name"))
    .map((a) => `${a.name} { name }`)
    .join(" ");
  const timeline = capabilities.householdTimeline ? HOUSEHOLD_TIMELINE_SELECTION : "";
  return `household {
      members {
        relationship source
        person { reference { scheme value } matches { agency status } ${names} }
      }
      ${timeline}
    }`;
}

// The single view asks for every field of every agency: policy decides what
// comes back, and the page shows what was withheld and why.
export function personQuery(agencies, capabilities) {
  const sections = agencies.map((a) => `${a.name} { ${selection(a.fields)} }`).join("\n    ");
  const household = capabilities.household ? householdSelection(agencies, capabilities) : "";
  return `query CaseworkerView($ref: PersonReference!, $since: Date, $until: Date,
      $agencies: [String!]) {
  person(reference: $ref) {
    reference { scheme value }
    matches { agency status }
    ${sections}
    ${TIMELINE_SELECTION}
    ${household}
  }
}`;
}

// The filters apply to the person's chronology and, where the gateway has one,
// to their household's.
export function chronologyQuery(capabilities) {
  const household = capabilities.householdTimeline
    ? `household { ${HOUSEHOLD_TIMELINE_SELECTION} }`
    : "";
  return `query Chronology($ref: PersonReference!, $since: Date,
    $until: Date, $agencies: [String!]) {
  person(reference: $ref) {
    ${TIMELINE_SELECTION}
    ${household}
  }
}`;
}
