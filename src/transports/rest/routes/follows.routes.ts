import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { FOLLOW_DEFAULT_SORT, FOLLOW_SORTS, type FollowEntry, type FollowsService } from '../../../domain/follows/index.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, listQuerySchema, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { typed } from '../type-provider.ts';
import { IdParams, NoQuery, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';
import { presentUser, USER_FIELDS, UserSchema } from './users.routes.ts';

const FollowSchema = Type.Intersect([UserSchema, Type.Object({ followed_at: Timestamp })], { description: 'A user in a followers or following list, with when the follow began.' });

function presentFollow(entry: FollowEntry) {
  return { ...presentUser(entry.user), followed_at: entry.followedAt.toISOString() };
}

export function registerFollowRoutes(fastify: FastifyInstance, { follows, lists }: { follows: FollowsService; lists: RestLists }): void {
  const app = typed(fastify);
  const tags = ['social'];
  const security = SECURITY.required;
  const route: ListRoute<FollowEntry> = {
    spec: { sorts: FOLLOW_SORTS, defaultSort: FOLLOW_DEFAULT_SORT, fields: [...USER_FIELDS, 'followed_at'] },
    present: presentFollow,
  };

  for (const side of ['followers', 'following'] as const) {
    app.get(`/users/:id/${side}`, {
      config: { auth: 'required', produces: LIST_MEDIA_TYPES },
      schema: {
        operationId: side === 'followers' ? 'listFollowers' : 'listFollowing',
        tags,
        summary: side === 'followers' ? "List a user's followers" : 'List the users a user follows',
        description: 'Newest follow first.',
        security,
        params: IdParams,
        querystring: listQuerySchema({}, { list: route.spec, offsetInV1Only: true }),
        response: { 200: ListEnvelope(FollowSchema, `A page of ${side}`), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404, 406) },
      },
      handler: async (request, reply) => {
        const options = lists.options(request, route.spec);
        const page = await follows.list(principalOf(request), request.params.id, side, options.page);
        return lists.send(request, reply, route, options, page);
      },
    });
  }

  app.put('/users/:id/followers/me', {
    config: { auth: 'required' },
    schema: {
      operationId: 'followUser',
      tags,
      summary: 'Follow a user',
      description: 'The caller follows the user. Repeatable: following again changes nothing. Following yourself is 422.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 204: Type.Null({ description: 'Following' }), ...problemResponses(401, 403, 404, 422) },
    },
    handler: async (request, reply) => {
      await follows.follow(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  });

  app.delete('/users/:id/followers/me', {
    config: { auth: 'required' },
    schema: {
      operationId: 'unfollowUser',
      tags,
      summary: 'Unfollow a user',
      description: 'Repeatable: unfollowing someone you do not follow changes nothing.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 204: Type.Null({ description: 'Not following' }), ...problemResponses(401, 403, 404) },
    },
    handler: async (request, reply) => {
      await follows.unfollow(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  });
}
