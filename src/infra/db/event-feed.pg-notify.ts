import pg from 'pg';
import { BusListeners, decodeBusMessage, encodeBusMessage, type RealtimeBus } from '../../platform/realtime/bus.ts';

const RECONNECT_MS = 1_000;

/**
 * The realtime bus over PostgreSQL LISTEN/NOTIFY: one dedicated connection per
 * process listens on `channel` (named after the deployment's schema, so
 * schemas sharing a server never hear each other) and sends with pg_notify.
 * After a reconnect it reports a `commit`: something may have been missed.
 */
export function createPgNotifyBus(databaseUrl: string, channel: string): RealtimeBus & { ready: Promise<void> } {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid NOTIFY channel ${channel}`);
  const listeners = new BusListeners();
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: databaseUrl });
    next.on('error', () => {});
    next.on('notification', (message) => {
      if (message.channel !== channel) return;
      const decoded = decodeBusMessage(message.payload ?? '');
      if (decoded) listeners.emit(decoded[0], decoded[1]);
    });
    next.on('end', () => {
      if (client === next) client = null;
      if (!closed) schedule();
    });
    await next.connect();
    await next.query(`LISTEN "${channel}"`);
    if (closed) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
  };
  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      connect().then(
        () => listeners.emit('commit', ''),
        () => schedule(),
      );
    }, RECONNECT_MS);
    timer.unref();
  };
  const ready = connect().catch(() => schedule());

  return {
    kind: 'postgres',
    ready,
    async publish(topic, payload) {
      await ready;
      if (!client) throw new Error('the NOTIFY connection is down');
      await client.query('SELECT pg_notify($1, $2)', [channel, encodeBusMessage(topic, payload)]);
    },
    subscribe: (listener) => listeners.add(listener),
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await ready;
      const current = client;
      client = null;
      await current?.end().catch(() => {});
    },
  };
}
