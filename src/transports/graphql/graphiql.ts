/** GraphiQL against this server's /graphql (same origin: the browser sends its own credentials header from the editor's Headers tab). */
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
    const fetcher = createGraphiQLFetcher({ url: new URL('/graphql', location.href).toString() });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultHeaders: JSON.stringify({ Authorization: 'Bearer <access token or API key>' }, null, 2) }),
    );
  </script>
</body>
</html>
`;
