export * from './events.types.ts';
export * from './events.port.ts';
export * from './events.service.ts';
export * from './events.visibility.ts';
