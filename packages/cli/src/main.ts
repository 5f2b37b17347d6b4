import { main as messagingMain } from '@switchyard/messaging/dlq';
import { type CommandIo, loadCommand } from './load/load-command.js';

const USAGE = `usage: switchyard <command> …

commands:
  dlq       dead letters: list, show, replay, discard, purge      (switchyard dlq --help)
  outbox    outbox rows the relay parked: list, retry, discard    (switchyard outbox --help)
  load      open-loop HTTP load against a running platform        (switchyard load --help)`;

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

/** `switchyard <argv>`: resolves to the exit code; each command group lives with the package that owns it. */
export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'load') return loadCommand(rest, io);
  if (command === 'dlq' || command === 'outbox') return messagingMain(argv, io);
  io.stderr(`switchyard: unknown command '${command}'\n\n${USAGE}`);
  return 2;
}
