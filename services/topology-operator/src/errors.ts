/** What was thrown, as an Error (a thrown string or object keeps its text). */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** What was thrown, as one line for a log field, an Event or an HTTP body. */
export function errorMessage(thrown: unknown): string {
  return toError(thrown).message;
}
