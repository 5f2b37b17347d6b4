import type { INestApplication } from '@nestjs/common';

/**
 * How a library attaches a Nest microservice transport (messaging's event consumer) without the kit knowing it:
 * its module provides this class as a token, `createServiceApp` calls `connect` on each before returning the app,
 * and `runService` starts them (`app.startAllMicroservices()`) before the HTTP listener opens.
 */
export abstract class TransportConnector {
  /** Connects the transport to `app` (`app.connectMicroservice(...)`); starting it is left to the caller. */
  abstract connect(app: INestApplication): void;
}

/** Calls every `TransportConnector` the app's modules provide; an app without one is left as it is. */
export function connectTransports(app: INestApplication): void {
  let connectors: TransportConnector[];
  try {
    connectors = app.get(TransportConnector, { strict: false, each: true });
  } catch {
    return; // no module provides one
  }
  for (const connector of connectors) connector.connect(app);
}
