import type { MessageInitShape } from '@bufbuild/protobuf';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Container } from '../../../container.ts';
import { AppError } from '../../../domain/shared/errors.ts';
import { checkChatData, resolveChannel, type ChatMessage } from '../../../platform/realtime/index.ts';
import { principalOf } from '../context.ts';
import type { ChatRequest, ChatResponseSchema, ChatService } from '../gen/stoa/v1/chat_pb.ts';
import { BoundedQueue } from '../queue.ts';

type Deps = Pick<Container, 'realtime' | 'clock' | 'posts' | 'users'>;

/**
 * Chat over gRPC in the rooms of the WebSocket channel `chat:<room>`, through
 * the same relay (the realtime bus, so across processes): a client message
 * joins its room (once) and, unless its text is empty, is published there as
 * `data: {"text": …}`; every message of the joined rooms whose data has a
 * string `text` comes back. The call ends when the client stops sending.
 */
export function chatService(deps: Deps): Partial<ServiceImpl<typeof ChatService>> {
  const channelDeps = {
    // Chat channels need none of it; resolveChannel asks for it for posts:<user id>.
    authorizeUserPosts: async () => {},
  };
  return {
    async *chat(requests: AsyncIterable<ChatRequest>, ctx: HandlerContext): AsyncGenerator<MessageInitShape<typeof ChatResponseSchema>> {
      const actor = principalOf(ctx);
      const inbox = new BoundedQueue<ChatMessage>(1_000);
      const rooms = new Map<string, () => void>();
      const reading = (async () => {
        for await (const request of requests) {
          const channel = await resolveChannel(actor, `chat:${request.room}`, undefined, channelDeps);
          if (channel.kind !== 'chat') throw new AppError('VALIDATION_FAILED', 'Not a chat room');
          if (!rooms.has(channel.room)) rooms.set(channel.room, deps.realtime.chat.join(channel.room, (message) => inbox.push(message)));
          if (request.text === '') continue;
          const data = { text: request.text };
          checkChatData(data, 'text');
          await deps.realtime.chat.publish({ room: channel.room, data, from: actor.userId, sent_at: deps.clock.now().toISOString() });
        }
      })();
      reading.then(
        () => inbox.end(),
        (error: unknown) => inbox.end(error),
      );
      try {
        for (;;) {
          const message = await inbox.take(ctx.signal);
          if (message === undefined) return;
          if (typeof message.data.text !== 'string') continue;
          yield { room: message.room, text: message.data.text, from: message.from, sentAt: timestampFromDate(new Date(message.sent_at)) };
        }
      } finally {
        for (const leave of rooms.values()) leave();
      }
    },
  };
}
