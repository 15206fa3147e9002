// GraphQL Mesh composition of the REST/OpenAPI agency systems for the benchmark's peer.
// The harness passes the agencies it found running in PEER_AGENCIES as JSON:
// [{"name": "benefits", "source": "<OpenAPI URL>", "endpoint": "<base URL>",
//   "batch_field": "post_claimants_batch"}].
// The record read is POST /<collection>/batch (a read, with the keys in the body), so it
// is exposed as a Query field rather than Mesh's default Mutation for POST. Every
// simulator names its schemas Record and Summary, so each agency's types are prefixed.
import { createPrefixTransform, defineConfig } from '@graphql-mesh/compose-cli';
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
      selectQueryOrMutationField: [{ fieldName: agency.batch_field, type: 'query' }],
    }),
    transforms: [createPrefixTransform({ value: `${agency.name}_` })],
  })),
});
