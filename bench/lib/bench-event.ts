import { randomUUID } from 'node:crypto';

/** Every scenario moves the same event body: the JSON of a `user.created` v2 payload padded to exactly this many bytes. */
export const PAYLOAD_BYTES = 1024;

/**
 * The event data every scenario sends; `userId` doubles as the event id the delivery tracker counts. A type
 * alias, not an interface, so it also fits JSON-typed columns (Prisma's `InputJsonValue`).
 */
export type BenchEventData = {
  userId: string;
  email: string;
  name: string;
  marketingOptIn: boolean;
  locale: string;
  occurredAt: string;
};

/** A valid `user.created` v2 payload whose JSON is {@link PAYLOAD_BYTES} long (the name carries the padding). */
export function benchEventData(id: string = randomUUID()): BenchEventData {
  const data: BenchEventData = {
    userId: id,
    email: `${id.slice(0, 8)}@example.com`,
    name: '',
    marketingOptIn: false,
    locale: 'en',
    occurredAt: new Date().toISOString(),
  };
  data.name = 'x'.repeat(PAYLOAD_BYTES - Buffer.byteLength(JSON.stringify(data)));
  return data;
}
