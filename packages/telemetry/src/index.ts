export { loggerOptions, REDACTED_PATHS, REQUEST_ID_HEADER } from './logger-options.js';
export type { LoggerConfig } from './logger-options.js';
