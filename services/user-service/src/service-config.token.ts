/** Injection token for the validated configuration of this service. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
