export * from './posts.types.ts';
export * from './posts.port.ts';
export * from './posts.service.ts';
export * from './posts.inputs.ts';
