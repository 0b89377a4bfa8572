import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { describe, it } from 'node:test';
import { encode } from '@jridgewell/sourcemap-codec';
import { ownSourcesOnly, type SourceMapV3 } from '../scripts/source-map.mjs';

const lookup = (map: SourceMapV3, line: number, column: number) => new SourceMap(map as never).findEntry(line, column) as { originalSource?: string; originalLine?: number; name?: string };

describe("the bundle's source map covers Stoa's own sources only", () => {
  const full: SourceMapV3 = {
    version: 3,
    sources: ['../src/app.ts', '../node_modules/fastify/fastify.js', '../src/cli.ts'],
    names: ['buildApp', 'fastify', 'main'],
    mappings: encode([
      // line 0: Stoa, a dependency, Stoa again
      [[0, 0, 10, 2, 0], [10, 1, 100, 0, 1], [20, 0, 11, 4]],
      // line 1: starts inside the dependency (the previous line ended in Stoa's code), then the CLI
      [[0, 1, 200, 0], [5, 2, 3, 0, 2]],
    ]),
  };
  const cut = ownSourcesOnly(full);

  it('drops the dependencies from sources and names, and keeps every position of Stoa code', () => {
    assert.deepEqual(cut.sources, ['../src/app.ts', '../src/cli.ts']);
    assert.deepEqual(cut.names, ['buildApp', 'main']);
    assert.deepEqual(lookup(cut, 0, 3), { ...lookup(full, 0, 3) });
    assert.equal(lookup(cut, 0, 25).originalSource, '../src/app.ts');
    assert.equal(lookup(cut, 0, 25).originalLine, 11);
    assert.equal(lookup(cut, 1, 7).originalSource, '../src/cli.ts');
    assert.equal(lookup(cut, 1, 7).name, 'main');
  });

  it("maps a dependency's code to nothing, not to the Stoa code before it (on its own line or an earlier one)", () => {
    assert.equal(lookup(full, 0, 12).originalSource, '../node_modules/fastify/fastify.js');
    assert.equal(lookup(cut, 0, 12).originalSource, undefined);
    assert.equal(lookup(cut, 1, 2).originalSource, undefined);
  });

  it('the built dist/stoa.mjs.map names no dependency and maps a known line of Stoa to its file', (t) => {
    const bundle = new URL('../dist/stoa.mjs', import.meta.url);
    if (!existsSync(bundle)) return t.skip('no build: run npm run build');
    const map = JSON.parse(readFileSync(new URL('../dist/stoa.mjs.map', import.meta.url), 'utf8')) as SourceMapV3;
    assert.ok(map.sources.length > 100, `${map.sources.length} sources`);
    assert.deepEqual(map.sources.filter((s) => !s.startsWith('../src/')), []);
    const lines = readFileSync(bundle, 'utf8').split('\n');
    const line = lines.findIndex((l) => l.includes('No WebSocket endpoint at'));
    assert.ok(line >= 0);
    assert.equal(lookup(map, line, lines[line]!.indexOf('No WebSocket endpoint at')).originalSource, '../src/transports/ws/channels.ws.ts');
  });
});
