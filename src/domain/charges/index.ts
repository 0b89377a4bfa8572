export * from './charges.types.ts';
export * from './charges.port.ts';
export * from './charges.service.ts';
export * from './charges.operations.ts';
export * from './charges.inputs.ts';
