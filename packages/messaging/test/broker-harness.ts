// Test support for the messaging specs: a minimal decoder, event publishing, an observer that records, and
// broker inspection through rabbitmqctl. Not shipped (outside src/).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { DecodedEvent, IncomingMessage } from '../src/consumer/event-context.js';
import type { EventPublisher } from '../src/publishing/event-publisher.js';
import type {
  ConsumedEvent,
  DeadLetteredEvent,
  MessagingObserver,
  PublishedEvent,
  RetryEvent,
} from '../src/observability/messaging-observer.js';

/** Rejection as the contracts package throws it: an error with a string `reason`. */
export class TestRejection extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'TestRejection';
  }
}

/** Decodes the wire format's essentials without schemas: JSON body, id, type, `x-event-version`. */
export function decodeJson(message: IncomingMessage): DecodedEvent {
  let data: unknown;
  try {
    data = JSON.parse(message.content.toString('utf8'));
  } catch {
    throw new TestRejection('malformed_json', 'body is not JSON');
  }
  const { messageId, type, headers } = message.properties;
  if (!messageId || !type) throw new TestRejection('missing_header', 'messageId and type are required');
  const version = typeof headers['x-event-version'] === 'number' ? headers['x-event-version'] : 1;
  return {
    eventId: messageId,
    type,
    version,
    data,
    correlationId: message.properties.correlationId,
    occurredAt: typeof headers['ce-time'] === 'string' ? headers['ce-time'] : undefined,
  };
}

/** Publishes one event in the wire format; returns its id. */
export async function publishEvent(
  publisher: EventPublisher,
  exchange: string,
  type: string,
  data: unknown,
  id: string = randomUUID(),
): Promise<string> {
  await publisher.publish(exchange, type, Buffer.from(JSON.stringify(data)), {
    messageId: id,
    type,
    timestamp: Date.now(),
    contentType: 'application/json',
    appId: 'messaging-tests',
    correlationId: id,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-type': type,
      'ce-source': 'messaging-tests',
      'ce-time': new Date().toISOString(),
      'x-event-version': 1,
    },
  });
  return id;
}

/** Records every observer call. */
export class RecordingObserver implements MessagingObserver {
  readonly consumedEvents: ConsumedEvent[] = [];
  readonly retries: RetryEvent[] = [];
  readonly deadLetters: DeadLetteredEvent[] = [];
  readonly publishes: PublishedEvent[] = [];
  consumed(event: ConsumedEvent): void {
    this.consumedEvents.push(event);
  }
  retry(event: RetryEvent): void {
    this.retries.push(event);
  }
  deadLettered(event: DeadLetteredEvent): void {
    this.deadLetters.push(event);
  }
  published(event: PublishedEvent): void {
    this.publishes.push(event);
  }
  outcomes(outcome: ConsumedEvent['outcome']): number {
    return this.consumedEvents.filter((event) => event.outcome === outcome).length;
  }
}

/** A promise with its resolve exposed, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export interface QueueInfo {
  name: string;
  messages: number;
  arguments: string;
  type: string;
}

/** Queues of a vhost as the broker reports them (`rabbitmqctl list_queues`). */
export function listQueues(vhost: string): Promise<QueueInfo[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'rabbitmqctl',
      ['--quiet', 'list_queues', '-p', vhost, '--no-table-headers', 'name', 'messages', 'type', 'arguments'],
      (error, stdout) => {
        if (error) return reject(error);
        resolve(
          stdout
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((line) => {
              const [name, messages, type, ...args] = line.split('\t');
              return { name: name!, messages: Number(messages), type: type!, arguments: args.join('\t') };
            }),
        );
      },
    );
  });
}
