/** A failed API call, answered as the `Status` object (kind Status, apiVersion v1) a real API server sends. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
  }
}

export const badRequest = (message: string) => new ApiStatusError(400, 'BadRequest', message);

export const notFound = (qualifiedResource: string, name: string) =>
  new ApiStatusError(404, 'NotFound', `${qualifiedResource} "${name}" not found`, { name, kind: qualifiedResource });

export const alreadyExists = (qualifiedResource: string, name: string) =>
  new ApiStatusError(409, 'AlreadyExists', `${qualifiedResource} "${name}" already exists`, { name, kind: qualifiedResource });

export const conflict = (qualifiedResource: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource} "${name}": ${why}`, { name, kind: qualifiedResource });

/** 422 with one cause per offending field, as validation failures are reported. */
export const invalid = (kind: string, name: string, causes: { field: string; message: string }[]) =>
  new ApiStatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
    name,
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });

export const expired = (message: string) => new ApiStatusError(410, 'Expired', message);
