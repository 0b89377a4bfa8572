import type { FastifyInstance } from 'fastify';
import { buildApp, createLogger } from './app.ts';
import type { Config } from './config.ts';
import { createContainer, type Container } from './container.ts';
import { isEmpty, seedDemo } from './infra/db/seed.ts';
import { attachPaymentProcessor } from './infra/payment-processor/index.ts';
import { createWorker } from './workers/index.ts';
import { listenGrpc, type GrpcListener } from './transports/grpc/listener.ts';

const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  app: FastifyInstance;
  /** The gRPC port (undefined for a worker-only process). */
  grpcPort: number | undefined;
  container: Container;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts Stoa: migrations, the boot-time administrator, demo data on a first
 * embedded start, then listens. Stops gracefully on SIGTERM/SIGINT.
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  const container = await createContainer(config);
  const out = (line: string) => process.stdout.write(line + '\n');

  const embedded = container.database.kind === 'pglite';
  const firstStart = await isEmpty(container);
  if (config.adminEmail && config.adminPassword) {
    await container.users.ensureAdmin(config.adminEmail, config.adminPassword);
    logger.info({ email: config.adminEmail }, 'administrator ensured from STOA_ADMIN_EMAIL');
  }
  const demo = embedded && config.seedDemo && firstStart ? await seedDemo(container) : undefined;

  const role = config.role;
  const app = await buildApp(container, { logger, routes: role === 'worker' ? 'ops' : 'all' });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://localhost:${port}`;
  // The API roles serve gRPC on GRPC_PORT as well (docs/grpc.md).
  const grpc: GrpcListener | undefined = role === 'worker' ? undefined : await listenGrpc(app.rpc, { port: config.grpcPort, host: config.host, config: config.grpc });
  // A worker-only process serves no webhook route: it talks to the payment processor only when one is configured.
  const processor =
    role !== 'worker' || config.processor.url
      ? await attachPaymentProcessor(
          { gateway: container.processorGateway },
          { ...config.processor, processorUrl: config.processor.url, publicUrl: config.publicUrl },
          `http://${['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
        )
      : undefined;
  const worker =
    role === 'api' ? undefined : createWorker(container, {
          charges: processor !== undefined,
          log: (err, kind) => logger.warn({ err, kind }, 'background work failed'),
          notice: (message) => logger.warn(message),
        });
  await worker?.start();

  out('');
  out(`Stoa is listening on ${url}  (role ${role}; ${embedded ? `embedded PGlite: ${config.dataDir}` : 'PostgreSQL'}${container.redis ? ' + Redis' : ''})`);
  if (role !== 'worker') {
    out(`  API       ${url}/v1`);
    out(`  Docs      ${url}/docs   (OpenAPI: ${url}/openapi.json)`);
    out(`  GraphQL   ${url}/graphql   (GraphiQL: ${url}/graphiql)   Events: ${url}/v1/events, ${url.replace(/^http/, 'ws')}/v1/ws`);
    out(`  gRPC      ${config.grpc.tlsCert ? 'TLS' : 'h2c'} on port ${grpc!.port}; Connect and gRPC-Web at ${url}/rpc`);
    out(`  Dashboard ${url}/dashboard`);
  }
  out(`  Metrics   ${url}/metrics   Health: ${url}/healthz   Ready: ${url}/readyz`);
  if (demo) {
    out('');
    out('Demo data seeded (first start). These credentials are shown once:');
    out(`  Admin login   ${demo.adminEmail} / ${demo.adminPassword}`);
    out(`  Demo users    ada@example.com, grace@example.com, linus@example.com / ${demo.userPassword}`);
    out(`  Admin API key ${demo.apiKey}`);
    out(`  Try: curl -H "Authorization: Bearer ${demo.apiKey}" ${url}/v1/me`);
  }
  out('');
  out('Ready. Stop with Ctrl+C (SIGINT) or SIGTERM.');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: draining in-flight requests');
      const guard = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      guard.unref();
      await Promise.all([grpc?.close(SHUTDOWN_GRACE_MS - 1_000), app.close()]);
      await worker?.stop();
      await processor?.close();
      await container.close();
      clearTimeout(guard);
      logger.info('stopped');
    })());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return { app, container, url, grpcPort: grpc?.port, stop };
}
