/** API versions Stoa serves, oldest first; an API key may be pinned to one. */
export const API_VERSIONS = ['1', '2'] as const;
