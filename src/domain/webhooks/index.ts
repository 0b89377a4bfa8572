export * from './webhooks.types.ts';
export * from './webhooks.inputs.ts';
export * from './webhooks.port.ts';
export * from './webhooks.service.ts';
