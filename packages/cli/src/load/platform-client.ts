/** The HTTP calls the load generator makes, against the routes of user-service and order-service. */
export class PlatformClient {
  constructor(
    private readonly usersUrl: string,
    private readonly ordersUrl: string,
  ) {}

  /** Throws naming the service that does not answer ready, and how to start it. */
  async checkReady(): Promise<void> {
    for (const [name, base] of [
      ['user-service', this.usersUrl],
      ['order-service', this.ordersUrl],
    ] as const) {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(
        (error: unknown) => {
          throw new PlatformUnreachableError(
            `${name} at ${base} does not answer (${causeOf(error)}): start the platform (npm start) or pass --${name === 'user-service' ? 'users' : 'orders'}-url`,
          );
        },
      );
      if (!response.ok) throw new PlatformUnreachableError(`${name} at ${base} is not ready (${response.status})`);
    }
  }

  /** Signs a user up; resolves to the new user's id. */
  async signUp(tag: string): Promise<string> {
    const body = { email: `load-${tag}@example.test`, name: `Load ${tag}`, password: `load-password-${tag}` };
    return ((await this.send('POST', `${this.usersUrl}/users`, body)) as { id: string }).id;
  }

  async placeOrder(userId: string): Promise<string> {
    const items = [{ sku: 'LOAD-1', quantity: 1 + Math.floor(Math.random() * 3), unitPriceCents: 1_999 }];
    return ((await this.send('POST', `${this.ordersUrl}/orders`, { userId, items })) as { id: string }).id;
  }

  async cancelOrder(orderId: string): Promise<void> {
    await this.send('POST', `${this.ordersUrl}/orders/${orderId}/cancel`);
  }

  async deleteUser(userId: string): Promise<void> {
    await this.send('DELETE', `${this.usersUrl}/users/${userId}`);
  }

  /** Whether order-service has the customer yet (its user.created projection). */
  async customerKnown(userId: string): Promise<boolean> {
    const response = await fetch(`${this.ordersUrl}/customers/${userId}`, { signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    return response.ok;
  }

  private async send(method: string, url: string, body?: unknown): Promise<unknown> {
    const response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    }).catch((error: unknown) => {
      throw new RequestFailedError(causeOf(error));
    });
    const text = await response.text();
    if (!response.ok) throw new RequestFailedError(String(response.status));
    return text.length > 0 ? JSON.parse(text) : undefined;
  }
}

/** A request that did not succeed; `kind` is the HTTP status or the network error's code, as reported. */
export class RequestFailedError extends Error {
  constructor(readonly kind: string) {
    super(kind);
    this.name = 'RequestFailedError';
  }
}

export class PlatformUnreachableError extends Error {
  override name = 'PlatformUnreachableError';
}

/** The network error's code (ECONNREFUSED), `timeout`, or the message; read structurally, not by class (realms). */
function causeOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, message, cause } = error as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  if (name === 'TimeoutError') return 'timeout';
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return typeof message === 'string' ? message : String(error);
}
