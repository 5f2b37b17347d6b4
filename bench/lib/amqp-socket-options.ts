import amqp from 'amqplib';

/**
 * Measures the one change the numbers point at without editing the library: `RabbitMqConnection` calls
 * `amqp.connect(url, options)` without `noDelay`, so its socket keeps Nagle's algorithm. While this is on, every
 * amqplib connection made in this process gets TCP_NODELAY, as if the connection passed `noDelay: true`.
 * Only the scenarios labelled "TCP_NODELAY" turn it on.
 */
let forceNoDelay = false;
const connect = amqp.connect.bind(amqp);
(amqp as { connect: typeof amqp.connect }).connect = ((url: Parameters<typeof amqp.connect>[0], options?: Parameters<typeof amqp.connect>[1]) =>
  connect(url, forceNoDelay ? { ...options, noDelay: true } : options)) as typeof amqp.connect;

export function setForcedNoDelay(on: boolean): void {
  forceNoDelay = on;
}
