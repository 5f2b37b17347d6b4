import type request from 'supertest';

type Agent = ReturnType<typeof request>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'] as const;

/** A supertest agent whose every request carries `Authorization: Bearer <token>`. */
export function withToken(http: Agent, token: string): Agent {
  const wrapped = {} as Record<(typeof METHODS)[number], (path: string) => request.Test>;
  for (const method of METHODS) wrapped[method] = (path) => http[method](path).set('Authorization', `Bearer ${token}`);
  return wrapped as unknown as Agent;
}
