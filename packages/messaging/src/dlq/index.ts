// `@switchyard/messaging/dlq`: inspecting and replaying dead letters, and the `switchyard dlq` command line.
export { DEFAULT_RABBITMQ_URL, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main } from './cli.js';
export type { CliIo } from './cli.js';
export {
  DEFAULT_LIST_LIMIT,
  discardDeadLetters,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  resolveDeadLetterQueue,
  showDeadLetter,
} from './dlq-admin.js';
export type {
  DeadLetter,
  DeadLetterEntry,
  DeadLetterList,
  DiscardResult,
  PurgeResult,
  ReplayOptions,
  ReplayResult,
} from './dlq-admin.js';
export { summarizeDeadLetter } from './dead-letter-summary.js';
export type { DeadLetterSummary } from './dead-letter-summary.js';
