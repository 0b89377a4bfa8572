import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachPaymentProcessor, type AttachedProcessor } from '../src/infra/payment-processor/index.ts';
import { PASSWORD } from './helpers/app.ts';
import { world, type World } from './helpers/world.ts';

const root = path.resolve(import.meta.dirname, '..');

/** examples/sdk-quickstart.ts runs as its header says, importing `@stoa/sdk` as a user would (the built package). */
describe('sdk: the example script', () => {
  let w: World;
  let baseUrl: string;
  let processor: AttachedProcessor;
  before(async () => {
    // The package as installed: rebuild sdk/dist so the example runs the current sources.
    execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'sdk/tsconfig.json')], { stdio: 'pipe' });
    w = await world();
    await w.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(w.app.server.address() as AddressInfo).port}`;
    // As `stoa serve` does once it listens: the in-process payment processor settles charges and calls back.
    const { config, container } = w.t;
    processor = await attachPaymentProcessor({ gateway: container.processorGateway }, { ...config.processor, processorUrl: config.processor.url, publicUrl: config.publicUrl }, baseUrl);
    await w.product({ name: 'Example lamp', price: 900, stock: 5 });
  });
  after(async () => {
    await processor.close();
    await w.close();
  });

  it('signs in, lists products, orders, pays and follows the events to the confirmation', async () => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), STOA_URL: baseUrl, STOA_EMAIL: w.bob.email, STOA_PASSWORD: PASSWORD };
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples/sdk-quickstart.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (exitCode) => resolve({ code: exitCode, output }));
    });
    assert.equal(code, 0, output);
    assert.match(output, /signed in as Bob/);
    const orderId = /order (ord_\w+): 900 EUR, 1 attempt\(s\)/.exec(output)?.[1];
    assert.ok(orderId, output);
    assert.match(output, /charge ch_\w+: (pending|succeeded)/);
    assert.match(output, new RegExp(`event \\d+ order\\.created ${orderId}`));
    assert.match(output, new RegExp(`event \\d+ order\\.confirmed ${orderId}`));
    assert.match(output, /done\n$/);
  });
});
