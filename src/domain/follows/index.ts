export * from './follows.types.ts';
export * from './follows.port.ts';
export * from './follows.service.ts';
