export * from './work-queue.ts';
export * from './runner.ts';
