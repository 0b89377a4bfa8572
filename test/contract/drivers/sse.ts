import { openSse } from '../../helpers/realtime.ts';
import type { Case, Operation } from '../case.ts';
import type { ContractWorld } from '../world.ts';
import type { Actor, CallOptions, Driver, Outcome } from './driver.ts';
import { beforeSentinel, CATCH_UP_MS, commitSentinels, listen, type FeedEvent } from './event-stream.ts';
import { channelSkip, EVENT_FIELDS_RENAMED, problemOutcome, restDriver } from './rest.ts';

function headersFor(actor: Actor): Record<string, string> {
  if (actor.credential === null) return {};
  if (actor.credential.type === 'access_token') return { authorization: `Bearer ${actor.credential.token}` };
  return { 'x-api-key': actor.credential.key };
}

/**
 * Server-Sent Events (`GET /v1/events`, `Accept: text/event-stream`) over a
 * real socket: `events.read` is a stream resumed with `Last-Event-ID: after`
 * and filtered with `?type=`, read until the driver's sentinels have passed
 * (event-stream.ts); a refusal before the stream is a problem document.
 * SSE carries no writes: the other operations, which only the `given` and
 * `then` steps of the events table use, go through REST v2, and every case
 * of another table is skipped.
 */
export function sseDriver(): Driver {
  const rest = restDriver();
  let world: ContractWorld;
  let base: string;
  return {
    name: 'SSE',
    async setup(w: ContractWorld) {
      world = w;
      await rest.setup(w);
      base = await listen(w);
    },
    skip(c: Case): string | undefined {
      if (c.operation !== 'events.read') return `SSE expresses the event feed alone, not ${c.operation}`;
      return channelSkip(c, 'SSE');
    },
    async call(actor: Actor, operation: Operation, input: Record<string, unknown>, options?: CallOptions): Promise<Outcome> {
      if (operation !== 'events.read') return rest.call(actor, operation, input, options);
      const types = input.types as string[] | undefined;
      const query = types ? `?type=${encodeURIComponent(types.join(','))}` : '';
      const stream = await openSse(`${base}/v1/events${query}`, { ...headersFor(actor), 'last-event-id': String(input.after) });
      try {
        if (stream.status !== 200) return problemOutcome(JSON.parse(await stream.body()) as Record<string, unknown>, EVENT_FIELDS_RENAMED);
        const sentinels = await commitSentinels(world, actor, input);
        const read = () => beforeSentinel(stream.events().map((e) => e.data as unknown as FeedEvent), sentinels);
        return { ok: true, data: await stream.waitFor(read, CATCH_UP_MS, 'an event about a sentinel') };
      } finally {
        stream.close();
      }
    },
  };
}
