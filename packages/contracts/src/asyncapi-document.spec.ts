import { describe, expect, it } from '@jest/globals';
import { Parser } from '@asyncapi/parser';
import { ASYNCAPI_FILE, renderEventDocs } from './event-docs.js';

const SEVERITY = ['error', 'warning', 'info', 'hint'];

describe('the generated AsyncAPI document, as @asyncapi/parser reads it', () => {
  it('has no diagnostic of any severity (errors, warnings, infos, hints)', async () => {
    const diagnostics = await new Parser().validate(renderEventDocs().get(ASYNCAPI_FILE)!);
    const found = diagnostics.map(
      (d) => `${SEVERITY[d.severity] ?? d.severity} ${d.code} at ${d.path.join('.')}: ${d.message}`,
    );
    expect(found).toEqual([]);
  });

  it('parses to a 3.1.0 document with a receive operation per consumer queue and every queue channel bound', async () => {
    const { document, diagnostics } = await new Parser().parse(renderEventDocs().get(ASYNCAPI_FILE)!);
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    expect(document?.version()).toBe('3.1.0');
    const receives = document!.operations().filter((operation) => operation.action() === 'receive');
    expect(
      receives.map((operation) =>
        operation
          .channels()
          .all()
          .map((channel) => channel.address()),
      ),
    ).toEqual([['order-service.user-events'], ['user-service.order-events']]);
    const queueAddresses = document!
      .channels()
      .all()
      .filter((channel) => channel.bindings().get('amqp')?.value()['is'] === 'queue')
      .map((channel) => channel.address());
    expect(queueAddresses).toEqual(
      expect.arrayContaining([
        'order-service.user-events.retry.1s',
        'order-service.user-events.retry.10m',
        'order-service.user-events.dlq',
        'user-service.order-events.dlq',
      ]),
    );
    for (const operation of document!.operations().filter((op) => op.action() === 'send')) {
      expect(operation.bindings().get('amqp')?.value()).toMatchObject({ deliveryMode: 2, mandatory: true });
    }
    expect(document!.info().contact()?.name()).toBe('Switchyard maintainers');
    expect(document!.info().license()?.name()).toBe('Apache-2.0');
    expect(document!.info().id()).toBe('urn:switchyard:events');
    expect(document!.servers().get('rabbitmq')?.security().length).toBe(1);
  });
});
