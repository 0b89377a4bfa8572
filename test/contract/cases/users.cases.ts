import { PASSWORD } from '../../helpers/app.ts';
import { absent, matching, newEmail, ref, sameAsInput, type Case, type Table } from '../case.ts';

const signUp = (fields: Record<string, unknown>) => ({ email: newEmail, display_name: 'Valid', password: PASSWORD, ...fields });
const upper = (s: string) => s.toUpperCase();

/** Sign-up validation: each row changes one field of a valid sign-up. */
const boundaries: Array<[string, Record<string, unknown>, { field: string; code: string } | null, true?]> = [
  ['a display_name of 100 characters', { display_name: 'n'.repeat(100) }, null],
  ['a display_name of 101 characters', { display_name: 'n'.repeat(101) }, { field: 'display_name', code: 'too_long' }],
  ['an empty display_name', { display_name: '' }, { field: 'display_name', code: 'too_short' }],
  ['a blank display_name', { display_name: '   ' }, { field: 'display_name', code: 'too_short' }],
  ['a password of 8 characters', { password: '12345678' }, null],
  ['a password of 7 characters', { password: '1234567' }, { field: 'password', code: 'too_short' }],
  ['a password of 256 characters', { password: 'p'.repeat(256) }, null],
  ['a password of 257 characters', { password: 'p'.repeat(257) }, { field: 'password', code: 'too_long' }],
  ['an email without a domain', { email: 'ada@' }, { field: 'email', code: 'invalid_format' }],
  ['an email with a space', { email: 'a da@example.com' }, { field: 'email', code: 'invalid_format' }],
  ['an email that is SQL', { email: "x'; DROP TABLE users; --@example.com" }, { field: 'email', code: 'invalid_format' }],
  ['an email over 254 characters', { email: `${'a'.repeat(250)}@example.com` }, { field: 'email', code: 'too_long' }],
  ['a display_name that is a number', { display_name: 12345 }, { field: 'display_name', code: 'invalid_type' }],
  ['a role', { role: 'admin' }, { field: 'role', code: 'unknown_field' }],
];

const create: Case[] = [
  {
    name: 'signs up a user with the defaults',
    actor: 'anonymous',
    operation: 'users.create',
    input: { email: newEmail, display_name: 'New Person', password: PASSWORD },
    expect: { ok: { id: matching(/^usr_[0-9a-z]{26}$/), email: sameAsInput('email'), display_name: 'New Person', role: 'user', plan: 'free', status: 'active', password: absent } },
  },
  ...boundaries.map(([what, fields, error]): Case => ({
    name: `${error ? 'refuses' : 'accepts'} ${what}`,
    actor: 'anonymous',
    operation: 'users.create',
    input: signUp(fields),
    expect: error ? { error: 'VALIDATION_FAILED', fields: [error] } : { ok: { id: matching(/^usr_/) } },
  })),
  {
    name: 'lists every missing field at once',
    actor: 'anonymous',
    operation: 'users.create',
    input: {},
    expect: {
      error: 'VALIDATION_FAILED',
      fields: [
        { field: 'email', code: 'required' },
        { field: 'display_name', code: 'required' },
        { field: 'password', code: 'required' },
      ],
    },
  },
  {
    name: 'refuses an email already taken, compared case-insensitively',
    actor: 'anonymous',
    operation: 'users.create',
    input: signUp({ email: ref('ada.email', upper) }),
    expect: { error: 'EMAIL_TAKEN' },
  },
  {
    name: 'refuses the second of two sign-ups with one email',
    actor: 'anonymous',
    operation: 'users.create',
    given: [{ actor: 'anonymous', operation: 'users.create', input: signUp({}) }],
    input: signUp({}),
    expect: { error: 'EMAIL_TAKEN' },
  },
];

const read: Case[] = [
  {
    name: 'shows another user only the public profile',
    actor: 'bob',
    operation: 'users.get',
    input: { id: ref('ada.id') },
    expect: { ok: { id: ref('ada.id'), display_name: 'Ada', email: absent, role: absent, plan: absent } },
  },
  {
    name: 'shows an administrator the full record',
    actor: 'admin',
    operation: 'users.get',
    input: { id: ref('bob.id') },
    expect: { ok: { id: ref('bob.id'), email: ref('bob.email'), role: 'user' } },
  },
  { name: 'needs a caller', actor: 'anonymous', operation: 'users.get', input: { id: ref('ada.id') }, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'answers NOT_FOUND for an unknown id', actor: 'ada', operation: 'users.get', input: { id: 'usr_00000000000000000000000000' }, expect: { error: 'NOT_FOUND' } },
];

const update: Case[] = [
  {
    name: 'lets a user change its own display_name',
    actor: 'newcomer',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), display_name: 'Renamed' },
    expect: { ok: { id: ref('newcomer.id'), display_name: 'Renamed', email: ref('newcomer.email') } },
  },
  {
    name: "forbids changing another user, and leaves it unchanged",
    actor: 'ada',
    operation: 'users.update',
    input: { id: ref('bob.id'), display_name: 'Hacked' },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'bob', operation: 'users.get', input: { id: ref('bob.id') }, expect: { ok: { display_name: 'Bob' } } }],
  },
  {
    name: 'forbids a user from making itself an administrator',
    actor: 'newcomer',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), role: 'admin' },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'newcomer', operation: 'users.get', input: { id: ref('newcomer.id') }, expect: { ok: { role: 'user' } } }],
  },
  { name: 'forbids a user from changing its own plan', actor: 'newcomer', operation: 'users.update', input: { id: ref('newcomer.id'), plan: 'enterprise' }, expect: { error: 'FORBIDDEN' } },
  {
    name: 'lets an administrator change anyone, plan included',
    actor: 'admin',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), plan: 'pro', display_name: 'Upgraded' },
    expect: { ok: { id: ref('newcomer.id'), plan: 'pro', display_name: 'Upgraded' } },
  },
  {
    name: 'refuses a plan that does not exist',
    actor: 'admin',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), plan: 'gold' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'plan', code: 'invalid_value' }] },
  },
  { name: "refuses taking another user's email", actor: 'newcomer', operation: 'users.update', input: { id: ref('newcomer.id'), email: ref('bob.email', upper) }, expect: { error: 'EMAIL_TAKEN' } },
  {
    name: 'refuses an invalid email',
    actor: 'newcomer',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), email: 'nope' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'email', code: 'invalid_format' }] },
  },
  {
    name: 'refuses a blank display_name',
    actor: 'newcomer',
    operation: 'users.update',
    input: { id: ref('newcomer.id'), display_name: '  ' },
    expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'display_name', code: 'too_short' }] },
  },
  { name: 'refuses an update that changes nothing', actor: 'newcomer', operation: 'users.update', input: { id: ref('newcomer.id') }, expect: { error: 'VALIDATION_FAILED' } },
  { name: 'needs a caller to update', actor: 'anonymous', operation: 'users.update', input: { id: ref('ada.id'), display_name: 'x' }, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs users:write for an API key', actor: 'adaReadOnlyKey', operation: 'users.update', input: { id: ref('ada.id'), display_name: 'x' }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'users:write' } } },
  { name: 'answers NOT_FOUND when updating an unknown user', actor: 'admin', operation: 'users.update', input: { id: 'usr_00000000000000000000000000', display_name: 'x' }, expect: { error: 'NOT_FOUND' } },
];

const removal: Case[] = [
  {
    name: "deletes one's own account, which is then NOT_FOUND",
    actor: 'newcomer',
    operation: 'users.delete',
    input: { id: ref('newcomer.id') },
    expect: { ok: true },
    then: [{ actor: 'admin', operation: 'users.get', input: { id: ref('newcomer.id') }, expect: { error: 'NOT_FOUND' } }],
  },
  {
    name: "refuses deleting someone else's account",
    actor: 'bob',
    operation: 'users.delete',
    input: { id: ref('newcomer.id') },
    expect: { error: 'FORBIDDEN' },
    then: [{ actor: 'admin', operation: 'users.get', input: { id: ref('newcomer.id') }, expect: { ok: { id: ref('newcomer.id') } } }],
  },
  { name: 'needs a caller to delete', actor: 'anonymous', operation: 'users.delete', input: { id: ref('ada.id') }, expect: { error: 'UNAUTHENTICATED' } },
  { name: 'needs users:write for an API key to delete', actor: 'adaReadOnlyKey', operation: 'users.delete', input: { id: ref('ada.id') }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'users:write' } } },
  { name: 'needs a caller to list users', actor: 'anonymous', operation: 'users.list', input: {}, expect: { error: 'UNAUTHENTICATED' } },
];

export const USERS: Table = { area: 'users', cases: [...create, ...read, ...update, ...removal] };
