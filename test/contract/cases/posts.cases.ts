import { fresh, matching, output, ref, type Case, type Table } from '../case.ts';

const posts: Case[] = [
  {
    name: 'creates a post authored by the caller',
    actor: 'ada',
    operation: 'posts.create',
    input: { title: 'Hello', content: 'World' },
    expect: { ok: { id: matching(/^pst_[0-9a-z]{26}$/), author_id: ref('ada.id'), title: 'Hello', content: 'World', likes: 0 } },
    then: [{ actor: 'bob', operation: 'posts.get', input: { id: output(0, 'id') }, expect: { ok: { title: 'Hello', author_id: ref('ada.id') } } }],
  },
  {
    name: 'names every failing field at once',
    actor: 'bob',
    operation: 'posts.create',
    input: { title: '', content: 'x'.repeat(20_001), extra: 1 },
    expect: {
      error: 'VALIDATION_FAILED',
      fields: [
        { field: 'title', code: 'too_short' },
        { field: 'content', code: 'too_long' },
        { field: 'extra', code: 'unknown_field' },
      ],
    },
  },
  {
    name: 'requires a title and content',
    actor: 'bob',
    operation: 'posts.create',
    input: {},
    expect: {
      error: 'VALIDATION_FAILED',
      fields: [
        { field: 'title', code: 'required' },
        { field: 'content', code: 'required' },
      ],
    },
  },
  { name: 'refuses a title over 200 characters', actor: 'bob', operation: 'posts.create', input: { title: 't'.repeat(201), content: 'c' }, expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'title', code: 'too_long' }] } },
  {
    name: 'refuses a blank title that passes the length check',
    actor: 'bob',
    operation: 'posts.create',
    input: { title: '   ', content: 'ok' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'title', code: 'too_short' }] },
  },
  { name: 'needs a caller to post', actor: 'anonymous', operation: 'posts.create', input: { title: 'a', content: 'b' }, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs posts:write for an API key', actor: 'adaReadOnlyKey', operation: 'posts.create', input: { title: 'a', content: 'b' }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'posts:write' } } },
  { name: 'posts as the owner of a key with posts:write', actor: 'adaKey', operation: 'posts.create', input: { title: 'a', content: 'b' }, expect: { ok: { author_id: ref('ada.id') } } },
  {
    name: 'lets the author edit, keeping the rest',
    actor: 'ada',
    operation: 'posts.update',
    input: { id: fresh('adaPost'), title: 'Edited' },
    expect: { ok: { id: fresh('adaPost'), title: 'Edited', content: 'Some content' } },
  },
  {
    name: "forbids editing another user's post, and leaves it unchanged",
    actor: 'bob',
    operation: 'posts.update',
    input: { id: ref('adaPost'), title: 'hijack' },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'bob', operation: 'posts.get', input: { id: ref('adaPost') }, expect: { ok: { title: 'A title' } } }],
  },
  {
    name: 'refuses a blank title on edit',
    actor: 'ada',
    operation: 'posts.update',
    input: { id: ref('adaPost'), title: '  ' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'title', code: 'too_short' }] },
  },
  { name: 'answers NOT_FOUND when editing an unknown post', actor: 'ada', operation: 'posts.update', input: { id: 'pst_00000000000000000000000000', title: 'x' }, expect: { error: 'NOT_FOUND' } },
  {
    name: "forbids deleting another user's post",
    actor: 'ada',
    operation: 'posts.delete',
    input: { id: ref('bobPost') },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'bob', operation: 'posts.get', input: { id: ref('bobPost') }, expect: { ok: { id: ref('bobPost') } } }],
  },
  {
    name: "lets an administrator delete anyone's post; then it is gone",
    actor: 'admin',
    operation: 'posts.delete',
    input: { id: fresh('bobPost') },
    expect: { ok: true },
    then: [
      { actor: 'bob', operation: 'posts.get', input: { id: fresh('bobPost') }, expect: { error: 'NOT_FOUND' } },
      { actor: 'admin', operation: 'posts.delete', input: { id: fresh('bobPost') }, expect: { error: 'NOT_FOUND' } },
    ],
  },
  { name: 'lets the author delete its post', actor: 'bob', operation: 'posts.delete', input: { id: fresh('bobPost') }, expect: { ok: true } },
];

const comments: Case[] = [
  {
    name: "comments on another user's post as the caller",
    actor: 'bob',
    operation: 'comments.create',
    input: { post_id: ref('adaPost'), content: 'first' },
    expect: { ok: { id: matching(/^cmt_/), post_id: ref('adaPost'), author_id: ref('bob.id'), content: 'first' } },
  },
  { name: 'answers NOT_FOUND for a comment on a missing post', actor: 'bob', operation: 'comments.create', input: { post_id: 'pst_00000000000000000000000000', content: 'x' }, expect: { error: 'NOT_FOUND' } },
  {
    name: 'refuses empty content',
    actor: 'bob',
    operation: 'comments.create',
    input: { post_id: ref('adaPost'), content: '' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'content', code: 'too_short' }] },
  },
  {
    name: 'refuses blank content',
    actor: 'bob',
    operation: 'comments.create',
    input: { post_id: ref('adaPost'), content: '   ' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'content', code: 'too_short' }] },
  },
  {
    name: 'refuses content over 5000 characters',
    actor: 'bob',
    operation: 'comments.create',
    input: { post_id: ref('adaPost'), content: 'c'.repeat(5001) },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'content', code: 'too_long' }] },
  },
  { name: 'needs a caller to comment', actor: 'anonymous', operation: 'comments.create', input: { post_id: ref('adaPost'), content: 'x' }, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs posts:write for an API key to comment', actor: 'adaReadOnlyKey', operation: 'comments.create', input: { post_id: ref('adaPost'), content: 'x' }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'posts:write' } } },
  { name: 'lets the author edit its comment', actor: 'bob', operation: 'comments.update', input: { id: fresh('bobComment'), content: 'edited' }, expect: { ok: { content: 'edited', author_id: ref('bob.id') } } },
  {
    name: "forbids editing another user's comment, even on one's own post",
    actor: 'ada',
    operation: 'comments.update',
    input: { id: ref('bobComment'), content: 'edited by ada' },
    expect: { error: 'FORBIDDEN' },
  },
  { name: "forbids deleting another user's comment", actor: 'ada', operation: 'comments.delete', input: { id: ref('bobComment') }, expect: { error: 'FORBIDDEN' } },
  { name: 'lets the author delete its comment', actor: 'bob', operation: 'comments.delete', input: { id: fresh('bobComment') }, expect: { ok: true } },
  { name: "lets an administrator delete anyone's comment", actor: 'admin', operation: 'comments.delete', input: { id: fresh('bobComment') }, expect: { ok: true } },
];

export const POSTS: Table = { area: 'posts and comments', cases: [...posts, ...comments] };
