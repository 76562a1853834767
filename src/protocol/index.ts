export * from './errors.js';
export * from './subjects.js';
export * from './step.js';
export * from './execution.js';
export * from './advert.js';
export * from './codec.js';
export * from './execute.js';
export * from './membership.js';
