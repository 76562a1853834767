export * from './errors.js';
export * from './subjects.js';
export * from './step.js';
export * from './execution.js';
