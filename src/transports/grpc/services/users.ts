import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { Container } from '../../../container.ts';
import { AvatarUpload, USER_DEFAULT_SORT, USER_SORTS } from '../../../domain/users/index.ts';
import { checkPageSize } from '../../../platform/pagination/index.ts';
import { principalOf } from '../context.ts';
import { userMessage } from '../convert.ts';
import type { UploadAvatarRequest, UserService } from '../gen/stoa/v1/users_pb.ts';
import { canonicalInput } from '../input.ts';
import { CreateUserRequestSchema } from '../gen/stoa/v1/users_pb.ts';

type Deps = Pick<Container, 'users' | 'pagination' | 'avatars'>;

/** UserService: one domain call per method; the service validates and authorizes. */
export function userService(deps: Deps): Partial<ServiceImpl<typeof UserService>> {
  return {
    async getUser(req, ctx) {
      return { user: userMessage(await deps.users.get(principalOf(ctx), req.id)) };
    },
    async createUser(req) {
      // Validated by the service against SignUpInput, the declaration REST's POST /users uses.
      return { user: userMessage(await deps.users.register(canonicalInput(CreateUserRequestSchema, req) as never)) };
    },
    async deleteUser(req, ctx) {
      await deps.users.delete(principalOf(ctx), req.id);
      return { deletedId: req.id };
    },
    async *listUsers(req, ctx: HandlerContext) {
      const actor = principalOf(ctx);
      // page_size is a hint for how many rows each database read takes; every user is streamed.
      const limit = checkPageSize('page_size', req.pageSize === 0 ? undefined : req.pageSize);
      const spec = { sorts: USER_SORTS, defaultSort: USER_DEFAULT_SORT };
      let cursor: string | undefined;
      do {
        const request = deps.pagination.toPageRequest({ limit, cursor }, spec, { collection: 'users' });
        const page = await deps.users.list(actor, {}, request.page);
        for (const user of page.items) {
          if (ctx.signal.aborted) return;
          yield { user: userMessage(user) };
        }
        cursor = deps.pagination.pageCursors(page, request, spec).next ?? undefined;
      } while (cursor !== undefined && !ctx.signal.aborted);
    },
    async uploadAvatar(requests: AsyncIterable<UploadAvatarRequest>, ctx: HandlerContext) {
      const actor = principalOf(ctx);
      // Refused before a byte is read when the caller may not set it; each chunk is checked as it arrives.
      await deps.avatars.authorizeUpload(actor, actor.userId);
      const upload = new AvatarUpload();
      for await (const request of requests) upload.add(request.chunk);
      const avatar = await deps.avatars.set(actor, actor.userId, upload);
      return { userId: avatar.userId, contentType: avatar.contentType, sizeBytes: BigInt(avatar.bytes.length), etag: `"${avatar.sha256}"` };
    },
  };
}
