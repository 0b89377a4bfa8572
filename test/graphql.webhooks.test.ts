import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gql, gqlData } from './helpers/graphql.ts';
import { world, type World } from './helpers/world.ts';

// Loopback receivers are allowed here; every other non-public address stays refused.
const ENV = { STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.0/8' };
const TARGET = 'http://127.0.0.1:9/hooks/stoa';

type Endpoint = { id: string; url: string; eventTypes: string[]; description: string | null; status: string; createdAt: string; updatedAt: string };
const FIELDS = 'id url eventTypes description status createdAt updatedAt';
const CREATE = `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret webhookEndpoint { ${FIELDS} } } }`;

describe('GraphQL webhook endpoints (the same service, scopes and codes as /v2/webhook-endpoints)', () => {
  let w: World;
  before(async () => {
    w = await world({ env: ENV });
  });
  after(() => w.close());

  const create = async (headers: Record<string, string>, input: Record<string, unknown> = {}) =>
    (await gqlData<{ createWebhookEndpoint: { secret: string; webhookEndpoint: Endpoint } }>(w.app, CREATE, { headers, variables: { input: { url: TARGET, eventTypes: ['order.*'], ...input } } })).createWebhookEndpoint;

  it('creates an endpoint, answering its secret once; lists, reads and node(id:) show it without any secret', async () => {
    const created = await create(w.ada.auth, { description: 'fulfilment', eventTypes: ['order.*', 'charge.succeeded'] });
    assert.match(created.secret, /^whsec_/);
    assert.equal(created.webhookEndpoint.url, TARGET);
    assert.deepEqual(created.webhookEndpoint.eventTypes, ['order.*', 'charge.succeeded']);
    assert.equal(created.webhookEndpoint.status, 'enabled');
    const rest = (await w.app.inject({ method: 'GET', url: `/v2/webhook-endpoints/${created.webhookEndpoint.id}`, headers: w.ada.auth })).json().data;
    assert.equal(rest.url, TARGET);
    assert.equal(rest.description, 'fulfilment');
    assert.equal(rest.secret, undefined);
    const listed = await gqlData<{ webhookEndpoints: { totalCount: number; edges: Array<{ node: Endpoint }> } }>(w.app, `{ webhookEndpoints(first: 10) { totalCount edges { node { ${FIELDS} } } } }`, { headers: w.ada.auth });
    assert.deepEqual(listed.webhookEndpoints.edges.map((e) => e.node), [created.webhookEndpoint]);
    assert.equal(listed.webhookEndpoints.totalCount, 1);
    const one = await gqlData<{ webhookEndpoint: Endpoint; node: { __typename: string; id: string } }>(w.app, `{ webhookEndpoint(id: "${created.webhookEndpoint.id}") { ${FIELDS} } node(id: "${created.webhookEndpoint.id}") { __typename id } }`, { headers: w.ada.auth });
    assert.deepEqual(one.webhookEndpoint, created.webhookEndpoint);
    assert.deepEqual(one.node, { __typename: 'WebhookEndpoint', id: created.webhookEndpoint.id });
    // Bob sees none of it: an empty list, and NOT_FOUND with null for the id.
    const bobs = await gqlData<{ webhookEndpoints: { nodes: Endpoint[] } }>(w.app, '{ webhookEndpoints { nodes { id } } }', { headers: w.bob.auth });
    assert.deepEqual(bobs.webhookEndpoints.nodes, []);
    const foreign = await gql(w.app, `{ node(id: "${created.webhookEndpoint.id}") { id } }`, { headers: w.bob.auth });
    assert.deepEqual(foreign.body.data, { node: null });
    assert.equal(foreign.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
  });

  it('updates (a null description clears it), rotates the secret (a new one, once), and deletes', async () => {
    const { webhookEndpoint: endpoint, secret } = await create(w.ada.auth, { description: 'to clear' });
    const updated = await gqlData<{ updateWebhookEndpoint: Endpoint }>(w.app, `mutation ($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { ${FIELDS} } }`, {
      headers: w.ada.auth,
      variables: { id: endpoint.id, input: { status: 'disabled', eventTypes: ['*'], description: null } },
    });
    assert.equal(updated.updateWebhookEndpoint.status, 'disabled');
    assert.deepEqual(updated.updateWebhookEndpoint.eventTypes, ['*']);
    assert.equal(updated.updateWebhookEndpoint.description, null);
    const rotate = `mutation ($id: ID!, $input: RotateWebhookEndpointSecretInput) { rotateWebhookEndpointSecret(id: $id, input: $input) { secret webhookEndpoint { id } } }`;
    const rotated = await gqlData<{ rotateWebhookEndpointSecret: { secret: string; webhookEndpoint: { id: string } } }>(w.app, rotate, { headers: w.ada.auth, variables: { id: endpoint.id, input: { expirePreviousAfterSeconds: 0 } } });
    assert.match(rotated.rotateWebhookEndpointSecret.secret, /^whsec_/);
    assert.notEqual(rotated.rotateWebhookEndpointSecret.secret, secret);
    const again = await gqlData<{ rotateWebhookEndpointSecret: { secret: string } }>(w.app, rotate, { headers: w.ada.auth, variables: { id: endpoint.id } });
    assert.notEqual(again.rotateWebhookEndpointSecret.secret, rotated.rotateWebhookEndpointSecret.secret);
    const tooLong = await gql(w.app, rotate, { headers: w.ada.auth, variables: { id: endpoint.id, input: { expirePreviousAfterSeconds: 8 * 86_400 } } });
    assert.equal(tooLong.body.errors?.[0]?.extensions.code, 'VALIDATION_FAILED');
    assert.equal(tooLong.body.errors?.[0]?.extensions.fields?.[0]?.field, 'expirePreviousAfterSeconds');
    const deleted = await gqlData<{ deleteWebhookEndpoint: { deletedId: string } }>(w.app, 'mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }', { headers: w.ada.auth, variables: { id: endpoint.id } });
    assert.equal(deleted.deleteWebhookEndpoint.deletedId, endpoint.id);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v2/webhook-endpoints/${endpoint.id}`, headers: w.ada.auth })).statusCode, 404);
    const gone = await gql(w.app, 'mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }', { headers: w.ada.auth, variables: { id: endpoint.id } });
    assert.equal(gone.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
  });

  it('refuses bad input with the field codes REST gives for the same input', async () => {
    const cases: Array<{ graphql: Record<string, unknown>; rest: Record<string, unknown> }> = [
      { graphql: { url: 'http://10.0.0.1/hook', eventTypes: ['order.*'] }, rest: { url: 'http://10.0.0.1/hook', event_types: ['order.*'] } },
      { graphql: { url: 'ftp://example.com/x', eventTypes: ['order.*'] }, rest: { url: 'ftp://example.com/x', event_types: ['order.*'] } },
      { graphql: { url: TARGET, eventTypes: [] }, rest: { url: TARGET, event_types: [] } },
      { graphql: { url: TARGET, eventTypes: ['Not A Type'] }, rest: { url: TARGET, event_types: ['Not A Type'] } },
      { graphql: { url: '  ', eventTypes: ['order.*'] }, rest: { url: '  ', event_types: ['order.*'] } },
    ];
    for (const { graphql, rest } of cases) {
      const viaGraphql = await gql(w.app, CREATE, { headers: w.ada.auth, variables: { input: graphql } });
      const viaRest = await w.app.inject({ method: 'POST', url: '/v2/webhook-endpoints', headers: w.ada.auth, payload: rest });
      const problem = viaRest.json();
      const error = viaGraphql.body.errors?.[0];
      assert.equal(error?.extensions.code, problem.code, JSON.stringify({ graphql: viaGraphql.body, rest: problem }));
      assert.equal(error?.extensions.code, 'VALIDATION_FAILED');
      const restFields = (problem.errors as Array<{ field: string; code: string }>).map((e) => `${e.field.replace('event_types', 'eventTypes')}:${e.code}`);
      assert.deepEqual(error?.extensions.fields?.map((f) => `${f.field}:${f.code}`), restFields);
    }
  });

  it('asks webhooks:read to read and webhooks:write to change, as REST does', async () => {
    const readOnly = await w.apiKey(w.ada, ['webhooks:read']);
    const listed = await gql(w.app, '{ webhookEndpoints { nodes { id } } }', { headers: readOnly });
    assert.equal(listed.body.errors, undefined);
    const refused = await gql(w.app, CREATE, { headers: readOnly, variables: { input: { url: TARGET, eventTypes: ['*'] } } });
    assert.equal(refused.body.errors?.[0]?.extensions.code, 'INSUFFICIENT_SCOPE');
    const rest = await w.app.inject({ method: 'POST', url: '/v2/webhook-endpoints', headers: readOnly, payload: { url: TARGET, event_types: ['*'] } });
    assert.equal(rest.json().code, 'INSUFFICIENT_SCOPE');
    const none = await w.apiKey(w.ada, ['posts:read']);
    assert.equal((await gql(w.app, '{ webhookEndpoints { nodes { id } } }', { headers: none })).body.errors?.[0]?.extensions.code, 'INSUFFICIENT_SCOPE');
    assert.equal((await gql(w.app, '{ webhookEndpoints { nodes { id } } }')).body.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
  });
});
