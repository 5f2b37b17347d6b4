export { loadCommand, type CommandIo } from './load/load-command.js';
export type { LoadReport } from './load/load-report.js';
