import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { build } from 'esbuild';
import type * as SdkModule from '../sdk/src/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const sdkDir = path.join(root, 'sdk');

/** The package as users get it: plain ESM with declarations, for Node ≥ 20 and browsers, no dependency. */
describe('sdk: the package', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'stoa-sdk-build-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('declares ESM, its entry points and no runtime dependency', () => {
    const pkg = JSON.parse(readFileSync(path.join(sdkDir, 'package.json'), 'utf8'));
    assert.equal(pkg.name, '@stoa/sdk');
    assert.equal(pkg.type, 'module');
    assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
    assert.equal(pkg.dependencies, undefined, 'no runtime dependency');
    assert.match(pkg.engines.node, />=\s*20/);
    const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    assert.ok(rootPkg.workspaces.includes('sdk'));
  });

  it('bundles for the browser without a Node built-in or global', async () => {
    const result = await build({
      entryPoints: [path.join(sdkDir, 'src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    assert.deepEqual(result.errors, []);
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.every((file) => file.startsWith('sdk/src/')), `only the SDK's own sources: ${inputs.join(', ')}`);
    const code = result.outputFiles[0]!.text;
    for (const nodeOnly of ['require(', 'process.', 'Buffer', 'node:', '__dirname']) assert.ok(!code.includes(nodeOnly), `the browser bundle mentions ${nodeOnly}`);
    const gzipped = gzipSync(code).length;
    assert.ok(gzipped < 20_000, `small: ${code.length} bytes minified, ${gzipped} gzipped`);
  });

  it('compiles with the DOM library and no Node types to ESM and declarations that run in plain Node', async () => {
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(sdkDir, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false'], { stdio: 'pipe' });
    for (const file of ['index.js', 'index.d.ts', 'client.d.ts', 'generated/v2.d.ts']) assert.ok(existsSync(path.join(out, file)), file);
    for (const file of readdirSync(out).filter((f) => f.endsWith('.js'))) {
      const specifiers = [...readFileSync(path.join(out, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      assert.ok(specifiers.every((s) => s.startsWith('./') && s.endsWith('.js')), `${file} imports only its siblings: ${specifiers.join(', ')}`);
    }

    const server = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': String(request.headers['x-request-id']) });
      response.end(JSON.stringify({ data: { id: 'prd_1', seen_authorization: request.headers.authorization } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const sdk = (await import(pathToFileURL(path.join(out, 'index.js')).href)) as typeof SdkModule;
      const stoa = sdk.createStoa({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'stoa_test' });
      const product = await stoa.products.get('prd_1');
      assert.equal(product.data.id, 'prd_1');
      assert.equal((product.data as unknown as { seen_authorization: string }).seen_authorization, 'Bearer stoa_test');
      assert.match(product.requestId ?? '', /^[0-9a-f-]{36}$/);
    } finally {
      server.close();
    }
  });
});
