// The /graphiql page's bundle (scripts/build-graphiql.mjs → dist/graphiql/): GraphiQL, React and graphql-ws
// from node_modules, served by Stoa itself. No inline script: the endpoint comes from the page's
// `data-endpoint` attribute, the subscription URL from it and `location`.
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import './page.css';
import { parse, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';

const root = document.getElementById('graphiql');
if (!root) throw new Error('GraphiQL: the page has no #graphiql element');
const url = new URL(root.dataset.endpoint ?? '/graphql', location.href);
const subscriptionUrl = new URL(url);
subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

/** The credential headers of the editor's Headers tab, which subscriptions send in `connection_init`. */
function credentials(headers: FetcherOpts['headers']): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase();
    if ((key === 'authorization' || key === 'x-api-key') && typeof value === 'string') picked[key] = value;
  }
  return picked;
}

// One socket per credential: a changed Authorization header closes the old socket and opens a new one.
let socket: { key: string; client: Client } | null = null;
function socketFor(params: Record<string, string>): Client {
  const key = JSON.stringify(params);
  if (socket?.key !== key) {
    void socket?.client.dispose();
    socket = { key, client: createClient({ url: subscriptionUrl.href, lazy: true, connectionParams: params }) };
  }
  return socket.client;
}

/** The document being run, parsed now: the editor's own parse lags behind the text by a debounce, so a subscription run right after typing would go over HTTP. */
function documentOf(query: string, fallback: DocumentNode | undefined): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return fallback;
  }
}

const fetcher: Fetcher = (params, opts) =>
  createGraphiQLFetcher({ url: url.href, wsClient: socketFor(credentials(opts?.headers)) })(params, { ...opts, documentAST: documentOf(params.query, opts?.documentAST) });

createRoot(root).render(
  createElement(GraphiQL, { fetcher, defaultHeaders: JSON.stringify({ Authorization: 'Bearer <access token or API key>' }, null, 2) }),
);
