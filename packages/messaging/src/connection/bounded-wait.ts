/** How long closing a channel or connection may take before we stop waiting for the broker's close-ok: 5 s. */
export const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Waits for `promise` at most `ms`; resolves to whether it settled in time (its rejection counts as settled).
 * Closing must never hang a shutdown on a broker that stopped answering.
 */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
