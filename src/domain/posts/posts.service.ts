import type { EventLog } from '../events/index.ts';
import { EVERYONE } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, preconditionFailed } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import { canActFor, requireScope, type Principal } from '../shared/principal.ts';
import type { Transactor } from '../shared/transactor.ts';
import type { UserRepository } from '../users/index.ts';
import type { CommentRepository, PostRepository } from './posts.port.ts';
import { blankFields } from '../shared/validation.ts';
import { CommentInput, NewPostInput, PostPatchInput, type NewPost, type PostPatch } from './posts.inputs.ts';
import { presentComment, presentPost, type Comment, type Post, type PostFilter } from './posts.types.ts';

export interface PostsServiceDeps {
  posts: PostRepository;
  comments: CommentRepository;
  users: Pick<UserRepository, 'findById'>;
  events: EventLog;
  transactor: Transactor;
  clock: Clock;
}


/** Posts, comments and the feed. Authors change their own; admins change anything. */
export class PostsService {
  readonly #deps: PostsServiceDeps;

  constructor(deps: PostsServiceDeps) {
    this.#deps = deps;
  }

  async create(actor: Principal, input: NewPost): Promise<Post> {
    requireScope(actor, 'posts:write');
    NewPostInput.parse(input, blankFields(input, ['title', 'content']));
    const now = this.#deps.clock.now();
    const post: Post = { id: newId('pst', now.getTime()), authorId: actor.userId, title: input.title, content: input.content, likes: 0, createdAt: now, updatedAt: now, version: 1 };
    return this.#deps.transactor.run(async () => {
      const saved = await this.#deps.posts.insert(post);
      await this.#deps.events.append({ type: 'post.created', resourceType: 'post', resourceId: saved.id, data: presentPost(saved), audience: [EVERYONE] }, now);
      return saved;
    });
  }

  async get(actor: Principal, id: string): Promise<Post> {
    requireScope(actor, 'posts:read');
    const post = await this.#deps.posts.findById(id);
    if (!post) throw notFound('Post');
    return post;
  }

  async getMany(actor: Principal | null, ids: readonly string[]): Promise<Post[]> {
    if (actor) requireScope(actor, 'posts:read');
    return this.#deps.posts.findByIds(ids);
  }

  async update(actor: Principal, id: string, changes: PostPatch, expectedVersion?: number): Promise<Post> {
    requireScope(actor, 'posts:write');
    PostPatchInput.parse(changes, blankFields(changes, ['title', 'content']));
    await this.#authorize(actor, await this.get(actor, id));
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const result = await this.#deps.posts.update(id, changes, now, expectedVersion);
      if (result === 'version_mismatch') throw preconditionFailed();
      if (!result) throw notFound('Post');
      await this.#deps.events.append({ type: 'post.updated', resourceType: 'post', resourceId: result.id, data: presentPost(result), audience: [EVERYONE] }, now);
      return result;
    });
  }

  async delete(actor: Principal, id: string, expectedVersion?: number): Promise<void> {
    requireScope(actor, 'posts:write');
    const post = await this.get(actor, id);
    await this.#authorize(actor, post);
    const now = this.#deps.clock.now();
    await this.#deps.transactor.run(async () => {
      const result = await this.#deps.posts.delete(id, expectedVersion);
      if (result === 'version_mismatch') throw preconditionFailed();
      if (!result) throw notFound('Post');
      // The post as it was last shown.
      await this.#deps.events.append({ type: 'post.deleted', resourceType: 'post', resourceId: post.id, data: presentPost(post), audience: [EVERYONE] }, now);
    });
  }

  async list(actor: Principal, filter: PostFilter, page: PageRequest): Promise<Page<Post>> {
    requireScope(actor, 'posts:read');
    // A reversed range selects nothing (an empty page), rather than a refusal the document could not describe.
    return this.#deps.posts.list(filter, page);
  }

  /** One user's posts; an unknown user is 404 rather than an empty list. */
  async listByAuthor(actor: Principal, authorId: string, filter: Omit<PostFilter, 'authorId'>, page: PageRequest): Promise<Page<Post>> {
    // Whether a user exists is a users:read question, asked first, as looking the user up would.
    requireScope(actor, 'users:read');
    if (!(await this.#deps.users.findById(authorId))) throw notFound('User');
    return this.list(actor, { ...filter, authorId }, page);
  }

  /** Posts by the people the caller follows, newest first. */
  async feed(actor: Principal, page: PageRequest): Promise<Page<Post>> {
    requireScope(actor, 'posts:read');
    return this.#deps.posts.list({ followedBy: actor.userId }, page);
  }

  async commentCounts(postIds: readonly string[]): Promise<Map<string, number>> {
    return this.#deps.posts.commentCounts(postIds);
  }

  async addComment(actor: Principal, postId: string, content: string): Promise<Comment> {
    requireScope(actor, 'posts:write');
    CommentInput.parse({ content }, blankFields({ content }, ['content']));
    const post = await this.get(actor, postId);
    const now = this.#deps.clock.now();
    const comment: Comment = { id: newId('cmt', now.getTime()), postId: post.id, authorId: actor.userId, content, createdAt: now, updatedAt: now, version: 1 };
    return this.#deps.transactor.run(async () => {
      const saved = await this.#deps.comments.insert(comment);
      await this.#deps.events.append(
        // Everyone may read it; the post's author is named too, so a posts:<author> channel finds the comments on its posts.
        { type: 'comment.created', resourceType: 'comment', resourceId: saved.id, data: presentComment(saved), audience: [EVERYONE, post.authorId] },
        now,
      );
      return saved;
    });
  }

  async comments(actor: Principal, postId: string, page: PageRequest): Promise<Page<Comment>> {
    await this.get(actor, postId);
    return this.#deps.comments.listForPost(postId, page);
  }

  async getComment(actor: Principal, id: string): Promise<Comment> {
    requireScope(actor, 'posts:read');
    const comment = await this.#deps.comments.findById(id);
    if (!comment) throw notFound('Comment');
    return comment;
  }

  async updateComment(actor: Principal, id: string, content: string, expectedVersion?: number): Promise<Comment> {
    requireScope(actor, 'posts:write');
    CommentInput.parse({ content }, blankFields({ content }, ['content']));
    await this.#authorize(actor, await this.getComment(actor, id));
    const result = await this.#deps.comments.update(id, content, this.#deps.clock.now(), expectedVersion);
    if (result === 'version_mismatch') throw preconditionFailed();
    if (!result) throw notFound('Comment');
    return result;
  }

  async deleteComment(actor: Principal, id: string, expectedVersion?: number): Promise<void> {
    requireScope(actor, 'posts:write');
    const comment = await this.getComment(actor, id);
    await this.#authorize(actor, comment);
    const post = await this.#deps.posts.findById(comment.postId);
    const now = this.#deps.clock.now();
    await this.#deps.transactor.run(async () => {
      const result = await this.#deps.comments.delete(id, expectedVersion);
      if (result === 'version_mismatch') throw preconditionFailed();
      if (!result) throw notFound('Comment');
      await this.#deps.events.append(
        { type: 'comment.deleted', resourceType: 'comment', resourceId: comment.id, data: presentComment(comment), audience: post ? [EVERYONE, post.authorId] : [EVERYONE] },
        now,
      );
    });
  }

  async #authorize(actor: Principal, resource: { authorId: string }): Promise<void> {
    if (!canActFor(actor, resource.authorId)) throw new AppError('FORBIDDEN', 'Only the author (or an administrator) may change this');
  }
}
