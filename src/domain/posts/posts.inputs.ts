import { Type, type Static } from 'typebox';
import { defineInput, NonBlankString } from '../shared/validation.ts';
import { COMMENT_MAX, CONTENT_MAX, TITLE_MAX } from './posts.types.ts';

const Title = NonBlankString({ minLength: 1, maxLength: TITLE_MAX });
const Content = NonBlankString({ minLength: 1, maxLength: CONTENT_MAX });

/** A new post. Title and content must not be blank. */
export const NewPostInput = defineInput(
  Type.Object({ title: Title, content: Content }, { additionalProperties: false, examples: [{ title: 'Hello, Stoa', content: 'My first post.' }] }),
);
export type NewPost = Static<typeof NewPostInput.schema>;

/** Some fields of a post (a merge patch). */
export const PostPatchInput = defineInput(
  Type.Object({ title: Type.Optional(Title), content: Type.Optional(Content) }, { additionalProperties: false, minProperties: 1, examples: [{ title: 'Hello again' }] }),
);
export type PostPatch = Static<typeof PostPatchInput.schema>;

/** A comment, new or edited. */
export const CommentInput = defineInput(
  Type.Object({ content: NonBlankString({ minLength: 1, maxLength: COMMENT_MAX }) }, { additionalProperties: false, examples: [{ content: 'Nice post!' }] }),
);
export type CommentText = Static<typeof CommentInput.schema>;
