import type { GraphQLFieldResolver } from 'graphql';

/** Resolvers by type and field (the SDL says which exist). */
// Each resolver narrows its own parent and arguments; the map holds them all.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Resolvers = Record<string, Record<string, GraphQLFieldResolver<any, any, any>>>;

/** A DateTime argument (already checked by the scalar) as a Date, or undefined when absent. */
export function dateOf(value: string | null | undefined): Date | undefined {
  return value === null || value === undefined ? undefined : new Date(value);
}
