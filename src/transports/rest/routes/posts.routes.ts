import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Comment, Post, PostsService } from '../../../domain/posts/index.ts';
import {
  COMMENT_DEFAULT_SORT,
  COMMENT_SORTS,
  CommentInput,
  NewPostInput,
  POST_DEFAULT_SORT,
  POST_SORTS,
  PostPatchInput,
  presentComment as commentData,
  presentPost as postData,
} from '../../../domain/posts/index.ts';
import type { UsersService } from '../../../domain/users/index.ts';
import { expectedVersion, notModified, versionEtag } from '../conditional.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, listQuerySchema, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { listQuery } from '../query.ts';
import { typed } from '../type-provider.ts';
import { EMBEDDED_USER_FIELDS, userRelation } from '../relations.ts';
import { Envelope, IdParams, IfMatchHeaders as IfMatch, NoQuery, problemResponses, SECURITY, Timestamp } from '../schemas/common.ts';

const EmbeddedUser = Type.Object({ id: Type.String(), display_name: Type.String() }, { additionalProperties: true, description: 'The author, with include=author.' });

export const PostSchema = Type.Object(
  {
    id: Type.String({ examples: ['pst_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    author_id: Type.String(),
    title: Type.String(),
    content: Type.String(),
    likes: Type.Integer(),
    created_at: Timestamp,
    updated_at: Timestamp,
    author: Type.Optional(Type.Union([EmbeddedUser, Type.Null()])),
    links: Type.Object({ self: Type.String(), author: Type.String(), comments: Type.String() }),
  },
  { description: 'A post.' },
);

export const CommentSchema = Type.Object(
  {
    id: Type.String({ examples: ['cmt_01jd3k9x7m2v8q4r6t0w5y1zab'] }),
    post_id: Type.String(),
    author_id: Type.String(),
    content: Type.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
    author: Type.Optional(Type.Union([EmbeddedUser, Type.Null()])),
    links: Type.Object({ self: Type.String(), post: Type.String(), author: Type.String() }),
  },
  { description: 'A comment on a post.' },
);

export function presentPost(post: Post) {
  return { ...postData(post), links: { self: `/v2/posts/${post.id}`, author: `/v2/users/${post.authorId}`, comments: `/v2/posts/${post.id}/comments` } };
}

export function presentComment(comment: Comment) {
  return { ...commentData(comment), links: { self: `/v2/comments/${comment.id}`, post: `/v2/posts/${comment.postId}`, author: `/v2/users/${comment.authorId}` } };
}

const POST_FIELDS = ['id', 'author_id', 'title', 'content', 'likes', 'created_at', 'updated_at', 'links'] as const;
const COMMENT_FIELDS = ['id', 'post_id', 'author_id', 'content', 'created_at', 'updated_at', 'links'] as const;

const DateTime = (description: string) => Type.String({ format: 'date-time', description });
const PostFilters = {
  author_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only posts by this user.' })),
  created_after: Type.Optional(DateTime('Only posts created after this instant.')),
  created_before: Type.Optional(DateTime('Only posts created before this instant.')),
};

const PostEnvelope = Envelope(PostSchema, 'The post');
const CommentEnvelope = Envelope(CommentSchema, 'The comment');
const PostList = ListEnvelope(PostSchema, 'A page of posts');

export interface PostRoutesDeps {
  posts: PostsService;
  users: UsersService;
  lists: RestLists;
}

function parseDate(value: unknown): Date | undefined {
  return typeof value === 'string' ? new Date(value) : undefined;
}

export function registerPostRoutes(fastify: FastifyInstance, { posts, users, lists }: PostRoutesDeps): void {
  const app = typed(fastify);
  const tags = ['posts'];
  const security = SECURITY.required;
  const author = userRelation(users, 'author_id', 'author');
  const postList: ListRoute<Post> = {
    spec: { sorts: POST_SORTS, defaultSort: POST_DEFAULT_SORT, fields: POST_FIELDS, includes: { author: EMBEDDED_USER_FIELDS } },
    present: presentPost,
    relations: { author },
  };
  const feedList: ListRoute<Post> = { ...postList, spec: { ...postList.spec, cursorOnly: true } };
  const commentList: ListRoute<Comment> = {
    spec: { sorts: COMMENT_SORTS, defaultSort: COMMENT_DEFAULT_SORT, fields: COMMENT_FIELDS, includes: { author: EMBEDDED_USER_FIELDS } },
    present: presentComment,
    relations: { author },
  };
  const listConfig = { auth: 'required' as const, produces: LIST_MEDIA_TYPES };
  const listResponses = { 200: PostList, 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 406) };

  app.get('/posts', {
    config: listConfig,
    schema: {
      operationId: 'listPosts',
      tags,
      summary: 'List posts',
      description: 'Newest first by default. Filters: author_id, created_after, created_before; q searches title and content.',
      security,
      querystring: listQuery(PostFilters, { search: true, list: postList.spec }),
      response: listResponses,
    },
    handler: async (request, reply) => {
      const options = lists.options(request, postList.spec);
      const q = request.query;
      const page = await posts.list(
        principalOf(request),
        { authorId: q.author_id, createdAfter: parseDate(q.created_after), createdBefore: parseDate(q.created_before), q: q.q },
        options.page,
      );
      return lists.send(request, reply, postList, options, page);
    },
  });

  app.get('/users/:id/posts', {
    config: listConfig,
    schema: {
      operationId: 'listUserPosts',
      tags,
      summary: "List a user's posts",
      security,
      params: IdParams,
      querystring: listQuery({ created_after: PostFilters.created_after, created_before: PostFilters.created_before }, { search: true, list: postList.spec }),
      response: listResponses,
    },
    handler: async (request, reply) => {
      const options = lists.options(request, postList.spec);
      const q = request.query;
      const filter = { createdAfter: parseDate(q.created_after), createdBefore: parseDate(q.created_before), q: q.q };
      const page = await posts.listByAuthor(principalOf(request), request.params.id, filter, options.page);
      return lists.send(request, reply, postList, options, page);
    },
  });

  app.get('/feed', {
    config: listConfig,
    schema: {
      operationId: 'getFeed',
      tags,
      summary: 'The feed',
      description: 'Posts by the people the caller follows, newest first, cursor-paginated.',
      security,
      querystring: listQuerySchema({}, { list: feedList.spec }),
      response: listResponses,
    },
    handler: async (request, reply) => {
      const options = lists.options(request, feedList.spec);
      const page = await posts.feed(principalOf(request), options.page);
      return lists.send(request, reply, feedList, options, page);
    },
  });

  app.post('/posts', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createPost',
      tags,
      summary: 'Create a post',
      security,
      querystring: NoQuery,
      body: NewPostInput.schema,
      response: { 201: PostEnvelope, ...problemResponses(400, 401, 403, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const post = await posts.create(principalOf(request), request.body);
      reply.header('location', `/v2/posts/${post.id}`).header('etag', versionEtag(post.version));
      return reply.code(201).send({ data: presentPost(post) });
    },
  });

  app.get('/posts/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getPost',
      tags,
      summary: 'Get a post',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: PostEnvelope, 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const post = await posts.get(principalOf(request), request.params.id);
      if (notModified(request, reply, versionEtag(post.version), post.updatedAt)) return reply.send();
      return { data: presentPost(post) };
    },
  });

  app.patch('/posts/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updatePost',
      tags,
      summary: 'Update a post (JSON Merge Patch)',
      description: 'Authors edit their own posts. Send If-Match to avoid lost updates.',
      security,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      body: PostPatchInput.schema,
      response: { 200: PostEnvelope, ...problemResponses(400, 401, 403, 404, 412, 415, 422, 428) },
    },
    handler: async (request, reply) => {
      const post = await posts.update(principalOf(request), request.params.id, request.body, expectedVersion(request));
      reply.header('etag', versionEtag(post.version));
      return { data: presentPost(post) };
    },
  });

  app.delete('/posts/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'deletePost',
      tags,
      summary: 'Delete a post',
      security,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 412, 428) },
    },
    handler: async (request, reply) => {
      await posts.delete(principalOf(request), request.params.id, expectedVersion(request));
      return reply.code(204).send();
    },
  });

  app.get('/posts/:id/comments', {
    config: listConfig,
    schema: {
      operationId: 'listPostComments',
      tags,
      summary: "List a post's comments",
      description: 'Oldest first by default.',
      security,
      params: IdParams,
      querystring: listQuerySchema({}, { list: commentList.spec }),
      response: { 200: ListEnvelope(CommentSchema, 'A page of comments'), 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, commentList.spec);
      const page = await posts.comments(principalOf(request), request.params.id, options.page);
      return lists.send(request, reply, commentList, options, page);
    },
  });

  app.post('/posts/:id/comments', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createComment',
      tags,
      summary: 'Comment on a post',
      security,
      params: IdParams,
      querystring: NoQuery,
      body: CommentInput.schema,
      response: { 201: CommentEnvelope, ...problemResponses(400, 401, 403, 404, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const comment = await posts.addComment(principalOf(request), request.params.id, request.body.content);
      reply.header('location', `/v2/comments/${comment.id}`).header('etag', versionEtag(comment.version));
      return reply.code(201).send({ data: presentComment(comment) });
    },
  });

  app.get('/comments/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getComment',
      tags,
      summary: 'Get a comment',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: CommentEnvelope, 304: Type.Null({ description: 'Not modified' }), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const comment = await posts.getComment(principalOf(request), request.params.id);
      if (notModified(request, reply, versionEtag(comment.version), comment.updatedAt)) return reply.send();
      return { data: presentComment(comment) };
    },
  });

  app.patch('/comments/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updateComment',
      tags,
      summary: 'Edit a comment',
      description: 'Authors edit their own comments.',
      security,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      body: CommentInput.schema,
      response: { 200: CommentEnvelope, ...problemResponses(400, 401, 403, 404, 412, 415, 422, 428) },
    },
    handler: async (request, reply) => {
      const comment = await posts.updateComment(principalOf(request), request.params.id, request.body.content, expectedVersion(request));
      reply.header('etag', versionEtag(comment.version));
      return { data: presentComment(comment) };
    },
  });

  app.delete('/comments/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'deleteComment',
      tags,
      summary: 'Delete a comment',
      security,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 412, 428) },
    },
    handler: async (request, reply) => {
      await posts.deleteComment(principalOf(request), request.params.id, expectedVersion(request));
      return reply.code(204).send();
    },
  });
}
