import { openWs, type WsClient } from '../../helpers/realtime.ts';
import type { Case, Operation } from '../case.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor, CallOptions, Driver, Outcome } from './driver.ts';
import { beforeSentinel, CATCH_UP_MS, commitSentinels, listen, type FeedEvent } from './event-stream.ts';
import { problemOutcome, restDriver } from './rest.ts';

function headersFor(actor: Actor): Record<string, string> {
  if (actor.credential === null) return {};
  if (actor.credential.type === 'access_token') return { authorization: `Bearer ${actor.credential.token}` };
  return { 'x-api-key': actor.credential.key };
}

const SUBSCRIPTION = 'read';

/**
 * WebSocket (`/v1/ws`) over a real socket: `events.read` is a `subscribe` to
 * the input's channel (`events` when absent) with `after` and `types`, read
 * until the driver's sentinels have passed (event-stream.ts). A refused
 * upgrade is a problem document; a refused subscription an `error` message,
 * whose code is the outcome (it names no fields). WebSocket carries no writes:
 * the other operations, which only the `given` and `then` steps of the events
 * table use, go through REST v2, and every case of another table is skipped.
 */
export function webSocketDriver(): Driver {
  const rest = restDriver();
  let world: ContractWorld;
  let url: string;
  return {
    name: 'WebSocket',
    async setup(w: ContractWorld) {
      world = w;
      await rest.setup(w);
      url = `${(await listen(w)).replace(/^http/, 'ws')}/v1/ws`;
    },
    skip(c: Case): string | undefined {
      if (c.operation !== 'events.read') return `WebSocket expresses the event feed alone, not ${c.operation}`;
      return undefined;
    },
    async call(actor: Actor, operation: Operation, input: Record<string, unknown>, options?: CallOptions): Promise<Outcome> {
      if (operation !== 'events.read') return rest.call(actor, operation, input, options);
      let client: WsClient;
      try {
        client = await openWs(url, headersFor(actor));
      } catch (error) {
        const body = (error as { body?: string }).body;
        if (body === undefined) throw error;
        return problemOutcome(JSON.parse(body) as Record<string, unknown>);
      }
      try {
        client.send({ type: 'subscribe', id: SUBSCRIPTION, channel: input.channel ?? 'events', after: input.after, ...(input.types ? { types: input.types } : {}) });
        const answer = await client.next((m) => (m.type === 'subscribed' || m.type === 'error') && m.id === SUBSCRIPTION, CATCH_UP_MS, 'the answer to subscribe');
        if (answer.type === 'error') return { ok: false, code: String(answer.code), fields: [], details: {} };
        const sentinels = await commitSentinels(world, actor, input);
        const events = () => client.messages.filter((m) => m.type === 'event' && m.id === SUBSCRIPTION).map((m) => m.event as FeedEvent);
        await client.next(() => beforeSentinel(events(), sentinels) !== undefined, CATCH_UP_MS, 'an event about a sentinel');
        return { ok: true, data: beforeSentinel(events(), sentinels) };
      } finally {
        client.close();
      }
    },
  };
}
