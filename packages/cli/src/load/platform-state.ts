import type { IssuedToken, LoadCredentials } from './platform-client.js';

/** A user the run signed up; `token` once it has logged in. */
export interface LoadUser extends LoadCredentials {
  token?: string;
  /** When its token is due for renewal (halfway to expiry): after that it is not used until it logs in again. */
  renewAt: number;
  /** When order-service should know it (its `user.created` projection). */
  usableAt: number;
  deleted: boolean;
}

/**
 * What the run has created so far, so each operation has something real to act on: users to log in, to order for or
 * to delete, and placed orders to cancel (each with the user whose token cancels it). Only logged-in users act.
 * Picks are random; removal is O(1) (swap with the last) except for a deleted user's orders.
 */
export class PlatformState {
  /** Logged-in users (their token may be due for renewal). */
  private readonly users: LoadUser[] = [];
  /** Signed up, never logged in: the first logins are theirs, oldest first. */
  private readonly awaitingLogin: LoadUser[] = [];
  private readonly orders: Array<{ id: string; user: LoadUser }> = [];

  /**
   * @param projectionDelayMs how long after sign-up a user is used for orders: order-service learns of customers
   *   through `user.created`, and an order for a customer it does not know yet is (rightly) a 422.
   */
  constructor(private readonly projectionDelayMs: number) {}

  /**
   * A signed-up user; it acts once it has logged in ({@link loggedIn}), or at once when `seeded` (logged in, and known
   * to order-service).
   */
  addUser(credentials: LoadCredentials, now: number, seeded?: IssuedToken): LoadUser {
    const user: LoadUser = {
      ...credentials,
      renewAt: 0,
      usableAt: seeded ? now : now + this.projectionDelayMs,
      deleted: false,
    };
    if (seeded) this.loggedIn(user, seeded, now);
    else this.awaitingLogin.push(user);
    return user;
  }

  /** Who logs in next: a user never logged in, else one whose token is due, else any (users log in again). */
  userForLogin(now: number): LoadUser | undefined {
    while (this.awaitingLogin.length > 0) {
      const user = this.awaitingLogin.shift()!;
      if (!user.deleted) return user;
    }
    const due = this.users.find((user) => user.renewAt <= now);
    return due ?? this.users[this.randomIndex(this.users) ?? -1];
  }

  /** Stores a login's token; a user's first login makes it one that acts. */
  loggedIn(user: LoadUser, issued: IssuedToken, now: number): void {
    const first = user.token === undefined;
    user.token = issued.token;
    user.renewAt = now + issued.expiresInMs / 2;
    if (first && !user.deleted) this.users.push(user);
  }

  /** Puts a user whose login failed back in line. */
  loginFailed(user: LoadUser): void {
    if (user.token === undefined && !user.deleted) this.awaitingLogin.push(user);
  }

  addOrder(id: string, user: LoadUser): void {
    this.orders.push({ id, user });
  }

  /** A logged-in user order-service should know by now, or undefined. */
  userForOrder(now: number): LoadUser | undefined {
    const index = this.usableUserIndex(now);
    return index === undefined ? undefined : this.users[index];
  }

  /** Takes a user out (to delete it), with its orders: they are cancelled by the platform, not by us. */
  takeUser(now: number): LoadUser | undefined {
    const index = this.usableUserIndex(now);
    if (index === undefined) return undefined;
    const [user] = this.users.splice(index, 1);
    user!.deleted = true;
    for (let i = this.orders.length - 1; i >= 0; i -= 1) {
      if (this.orders[i]!.user === user) this.orders.splice(i, 1);
    }
    return user;
  }

  /** Takes a placed order out (to cancel it, with its owner's token), if its owner's token is still good. */
  takeOrder(now: number): { id: string; user: LoadUser } | undefined {
    const index = this.randomIndex(this.orders);
    if (index === undefined || this.orders[index]!.user.renewAt <= now) return undefined;
    const order = this.orders[index]!;
    this.orders[index] = this.orders.at(-1)!;
    this.orders.pop();
    return order;
  }

  private usableUserIndex(now: number): number | undefined {
    const usable = (user: LoadUser) => user.usableAt <= now && user.renewAt > now;
    const index = this.randomIndex(this.users);
    if (index !== undefined && usable(this.users[index]!)) return index;
    const found = this.users.findIndex(usable);
    return found < 0 ? undefined : found;
  }

  private randomIndex(list: readonly unknown[]): number | undefined {
    return list.length === 0 ? undefined : Math.floor(Math.random() * list.length);
  }
}
