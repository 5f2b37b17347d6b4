/**
 * What the run has created so far, so each operation has something real to act on: users to order for or delete,
 * and placed orders to cancel. Picks are random; removal is O(1) (swap with the last).
 */
export class PlatformState {
  private readonly users: Array<{ id: string; usableAt: number }> = [];
  private readonly orders: Array<{ id: string; userId: string }> = [];

  /**
   * @param projectionDelayMs how long after sign-up a user is used for orders: order-service learns of customers
   *   through `user.created`, and an order for a customer it does not know yet is (rightly) a 422.
   */
  constructor(private readonly projectionDelayMs: number) {}

  addUser(id: string, now: number, known = false): void {
    this.users.push({ id, usableAt: known ? now : now + this.projectionDelayMs });
  }

  addOrder(id: string, userId: string): void {
    this.orders.push({ id, userId });
  }

  /** A user order-service should know by now, or undefined. */
  userForOrder(now: number): string | undefined {
    const index = this.usableUserIndex(now);
    return index === undefined ? undefined : this.users[index]!.id;
  }

  /** Takes a user out (to delete it), with its orders: they are cancelled by the platform, not by us. */
  takeUser(now: number): string | undefined {
    const index = this.usableUserIndex(now);
    if (index === undefined) return undefined;
    const [user] = this.users.splice(index, 1);
    for (let i = this.orders.length - 1; i >= 0; i -= 1) {
      if (this.orders[i]!.userId === user!.id) this.orders.splice(i, 1);
    }
    return user!.id;
  }

  /** Takes a placed order out (to cancel it). */
  takeOrder(): string | undefined {
    const index = this.randomIndex(this.orders);
    if (index === undefined) return undefined;
    const order = this.orders[index]!;
    this.orders[index] = this.orders.at(-1)!;
    this.orders.pop();
    return order.id;
  }

  private usableUserIndex(now: number): number | undefined {
    const index = this.randomIndex(this.users);
    if (index === undefined || this.users[index]!.usableAt <= now) return index;
    const usable = this.users.findIndex((user) => user.usableAt <= now);
    return usable < 0 ? undefined : usable;
  }

  private randomIndex(list: readonly unknown[]): number | undefined {
    return list.length === 0 ? undefined : Math.floor(Math.random() * list.length);
  }
}
