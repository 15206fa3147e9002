// GraphQL Mesh composition of the REST/OpenAPI agency systems for the benchmark's peer.
// The harness passes the agencies it found running in PEER_AGENCIES as JSON:
// [{"name": "benefits", "source": "<OpenAPI document path or URL>", "endpoint": "<base URL>"}].
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const agencies = JSON.parse(process.env.PEER_AGENCIES ?? '[]');
if (agencies.length === 0) {
  throw new Error('PEER_AGENCIES names no REST agency to compose');
}

export const composeConfig = defineConfig({
  subgraphs: agencies.map((agency) => ({
    sourceHandler: loadOpenAPISubgraph(agency.name, {
      source: agency.source,
      endpoint: agency.endpoint,
    }),
  })),
});
