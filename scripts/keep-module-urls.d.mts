import type { Plugin } from 'esbuild';
export function keepModuleUrls(outdir: string, filter?: RegExp): Plugin;
