/** A signed-up user: what logging it in needs. */
export interface LoadCredentials {
  id: string;
  email: string;
  password: string;
}

/** A token from `POST /auth/token`, and how long it is valid. */
export interface IssuedToken {
  token: string;
  expiresInMs: number;
}

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

  /** Signs a user up (`POST /users`); resolves to the new user and its credentials. */
  async signUp(tag: string): Promise<LoadCredentials> {
    const body = { email: `load-${tag}@example.test`, name: `Load ${tag}`, password: `load-password-${tag}` };
    const { id } = (await this.send('POST', `${this.usersUrl}/users`, body)) as { id: string };
    return { id, email: body.email, password: body.password };
  }

  /** Logs a user in (`POST /auth/token`). */
  async login(user: Pick<LoadCredentials, 'email' | 'password'>): Promise<IssuedToken> {
    const issued = (await this.send('POST', `${this.usersUrl}/auth/token`, {
      email: user.email,
      password: user.password,
    })) as { access_token?: unknown; expires_in?: unknown };
    if (typeof issued?.access_token !== 'string' || typeof issued.expires_in !== 'number') {
      throw new RequestFailedError('bad token response');
    }
    return { token: issued.access_token, expiresInMs: issued.expires_in * 1000 };
  }

  /** Places an order as `userId`, with that user's token. */
  async placeOrder(userId: string, token: string): Promise<string> {
    const items = [{ sku: 'LOAD-1', quantity: 1 + Math.floor(Math.random() * 3), unitPriceCents: 1_999 }];
    return ((await this.send('POST', `${this.ordersUrl}/orders`, { userId, items }, token)) as { id: string }).id;
  }

  /** Cancels an order with its owner's token. */
  async cancelOrder(orderId: string, token: string): Promise<void> {
    await this.send('POST', `${this.ordersUrl}/orders/${orderId}/cancel`, undefined, token);
  }

  /** Deletes a user with its own token. */
  async deleteUser(userId: string, token: string): Promise<void> {
    await this.send('DELETE', `${this.usersUrl}/users/${userId}`, undefined, token);
  }

  /** Whether order-service has the customer yet (its user.created projection); asked with the user's own token. */
  async customerKnown(userId: string, token: string): Promise<boolean> {
    const response = await fetch(`${this.ordersUrl}/customers/${userId}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
    await response.body?.cancel();
    if (response.status === 401 || response.status === 403) {
      throw new Error(`order-service refused user ${userId}'s token (${response.status}) asking for its own profile`);
    }
    return response.ok;
  }

  private async send(method: string, url: string, body?: unknown, token?: string): Promise<unknown> {
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
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
