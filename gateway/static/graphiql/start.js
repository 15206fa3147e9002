// Every joinedup request needs a bearer token and a declared purpose of use, so
// the headers editor opens with both (paste a token from `joinedup token`).
const defaultHeaders = JSON.stringify(
  {
    Authorization: "Bearer <paste a token from: joinedup token --user U --role R --org O>",
    "X-Purpose-Of-Use": "safeguarding_children",
  },
  null,
  2,
);
const defaultQuery = `# Look a person up by an identifier any agency holds.
query Person($ref: PersonReference!) {
  person(reference: $ref) {
    matches { agency status }
  }
}
`;
const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultHeaders,
    defaultQuery,
    defaultVariables: '{"ref": {"scheme": "NI_NUMBER", "value": ""}}',
    headerEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: "headers",
  }),
);
