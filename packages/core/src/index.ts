export * from './errors.js';
export * from './config.js';
export * from './viewer.js';
export * from './pagination.js';
export * from './loaders.js';
export * from './logger.js';
export * from './metrics.js';
export * from './scalars.js';
export * from './demo.js';

export * from './process.js';
export * from './domains.js';
export * from './validate.js';
