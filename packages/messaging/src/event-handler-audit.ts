import type { Type } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import { PATTERN_HANDLER_METADATA, PATTERN_METADATA, TRANSPORT_METADATA } from '@nestjs/microservices/constants.js';
import { PatternHandler } from '@nestjs/microservices/enums/pattern-handler.enum.js';
import * as contracts from '@switchyard/contracts';
import { CONSUME_EVENT_METADATA } from './consume-event.decorator.js';
import { MessagingError } from './messaging-errors.js';
import { SWITCHYARD_TRANSPORT } from './consumer/switchyard-server-options.js';

/** A handler the Switchyard transport would run without `@ConsumeEvent`; the message says what to write instead. */
export class EventHandlerDeclarationError extends MessagingError {}

/**
 * One line per event handler of `controllers` declared with a bare `@EventPattern` (or with an `@EventPattern` that
 * overrides its `@ConsumeEvent`). Such a handler would run, but Nest's default RPC filter would replace its errors
 * with "Internal server error", so retries and dead letters would lose the real error class. Handlers pinned to
 * another transport (`@EventPattern('x', Transport.RMQ)` in a hybrid app) are not ours and pass.
 */
export function misdeclaredEventHandlers(controllers: readonly Type[]): string[] {
  const scanner = new MetadataScanner();
  const problems: string[] = [];
  for (const controller of controllers) {
    const prototype = controller.prototype as Record<string, unknown>;
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      if (Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) !== PatternHandler.EVENT) continue;
      const transport: unknown = Reflect.getMetadata(TRANSPORT_METADATA, method);
      if (transport !== undefined && transport !== SWITCHYARD_TRANSPORT) continue;
      const patterns = (Reflect.getMetadata(PATTERN_METADATA, method) as unknown[] | undefined) ?? [];
      const consumed: unknown = Reflect.getMetadata(CONSUME_EVENT_METADATA, method);
      if (patterns.length === 1 && patterns[0] === consumed) continue;
      const handler = `${controller.name}.${methodName}`;
      for (const pattern of patterns) {
        problems.push(
          `${handler} uses @EventPattern(${literal(pattern)}) without @ConsumeEvent: write ` +
            `@ConsumeEvent(${contractHint(pattern)}) instead, so its errors reach retries and dead letters unchanged`,
        );
      }
    }
  }
  return problems;
}

/** Throws `EventHandlerDeclarationError` naming every misdeclared handler of `controllers`. */
export function assertEventHandlersDeclared(controllers: readonly Type[]): void {
  const problems = misdeclaredEventHandlers(controllers);
  if (problems.length > 0) throw new EventHandlerDeclarationError(problems.join('; '));
}

/** `UserDeletedV1` for `user.deleted`: the exported name of the event's latest contract, when there is one. */
function contractHint(pattern: unknown): string {
  const latest = contracts.eventCatalog.eventFamilies.find((family) => family.type === pattern)?.latest;
  const name = latest && Object.entries(contracts).find(([, value]) => value === latest)?.[0];
  return name ? `${name} from @switchyard/contracts` : `the latest contract of ${literal(pattern)}`;
}

/** A pattern as it would be written in the source: `'user.deleted'`. */
function literal(pattern: unknown): string {
  return typeof pattern === 'string' ? `'${pattern}'` : JSON.stringify(pattern);
}
