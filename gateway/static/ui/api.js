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

function selection(fields) {
  return fields
    .map((f) => (f.kind === "list" ? `${f.name} { ${selection(f.itemFields)} }` : f.name))
    .join(" ");
}

// The single view asks for every field of every agency: policy decides what
// comes back, and the page shows what was withheld and why.
export function personQuery(agencies) {
  const sections = agencies.map((a) => `${a.name} { ${selection(a.fields)} }`).join("\n    ");
  return `query CaseworkerView($ref: PersonReference!, $since: Date, $until: Date,
      $agencies: [String!]) {
  person(reference: $ref) {
    reference { scheme value }
    matches { agency status }
    ${sections}
    ${TIMELINE_SELECTION}
  }
}`;
}

export const CHRONOLOGY_QUERY = `query Chronology($ref: PersonReference!, $since: Date,
    $until: Date, $agencies: [String!]) {
  person(reference: $ref) {
    ${TIMELINE_SELECTION}
  }
}`;
