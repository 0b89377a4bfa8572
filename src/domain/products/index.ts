export * from './products.types.ts';
export * from './products.port.ts';
export * from './products.service.ts';
export * from './products.inputs.ts';
