/**
 * GraphiQL against this server's /graphql: queries and mutations over HTTP
 * (the editor's Headers tab carries the credential), subscriptions over
 * graphql-transport-ws on the same path (graphql-ws's client), whose
 * `connection_init` carries the Authorization header from that same tab.
 */
export const GRAPHIQL_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Stoa GraphiQL</title>
  <link rel="stylesheet" href="https://esm.sh/graphiql@4/dist/style.css" />
  <style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script type="module">
    import React from 'https://esm.sh/react@19';
    import ReactDOM from 'https://esm.sh/react-dom@19/client';
    import { GraphiQL } from 'https://esm.sh/graphiql@4?deps=react@19,react-dom@19';
    import { createGraphiQLFetcher } from 'https://esm.sh/@graphiql/toolkit@0.11?deps=react@19,react-dom@19';
    import { createClient } from 'https://esm.sh/graphql-ws@6';
    const url = new URL('/graphql', location.href);
    const subscriptionUrl = url.toString().replace(/^http/, 'ws');
    // The headers typed in the editor (GraphiQL keeps them in localStorage), read when the socket opens.
    const editorHeaders = () => {
      try {
        const headers = JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
        const pick = (name) => Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
        return { ...(pick('authorization') && { authorization: pick('authorization') }), ...(pick('x-api-key') && { 'x-api-key': pick('x-api-key') }) };
      } catch {
        return {};
      }
    };
    const wsClient = createClient({ url: subscriptionUrl, lazy: true, connectionParams: editorHeaders });
    const fetcher = createGraphiQLFetcher({ url: url.toString(), subscriptionUrl, wsClient });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultHeaders: JSON.stringify({ Authorization: 'Bearer <access token or API key>' }, null, 2) }),
    );
  </script>
</body>
</html>
`;
