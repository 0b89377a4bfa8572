export * from './versions.ts';
export * from './v1-transform.ts';
