import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AvatarsService } from '../../../domain/users/index.ts';
import { typed } from '../type-provider.ts';
import { notModified } from '../conditional.ts';
import { principalOf } from '../plugins/request-context.ts';
import { IdParams, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';

const IMAGE = Type.String({ format: 'binary' });

/** GET /users/{id}/avatar: the image UploadAvatar (gRPC) stored, with its type and an ETag of its bytes. */
export function registerAvatarRoutes(fastify: FastifyInstance, avatars: AvatarsService): void {
  const app = typed(fastify);
  app.get('/users/:id/avatar', {
    config: { auth: 'required', produces: ['image/png', 'image/jpeg'] },
    schema: {
      operationId: 'getUserAvatar',
      tags: ['users'],
      summary: "Get a user's avatar",
      description:
        'The PNG or JPEG image the user uploaded over gRPC (`stoa.v1.UserService/UploadAvatar`), as its bytes, with `Content-Type` from the image signature and a strong `ETag` (SHA-256 of the bytes); `If-None-Match` answers 304. 404 when the user has none.',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      response: {
        200: { description: 'The image', content: { 'image/png': { schema: IMAGE }, 'image/jpeg': { schema: IMAGE } } } as never,
        304: Type.Null({ description: 'Not modified' }),
        ...problemResponses(401, 403, 404, 406),
      },
    },
    handler: async (request, reply) => {
      const avatar = await avatars.get(principalOf(request), request.params.id);
      reply.header('cache-control', 'private, no-cache');
      if (notModified(request, reply, `"${avatar.sha256}"`, avatar.updatedAt)) return reply.send();
      return reply.type(avatar.contentType).send(Buffer.from(avatar.bytes));
    },
  });
}
