export { AbuseLimitsModule } from './abuse-limits.module.js';
export { abuseLimitsConfigShape } from './abuse-limits.config.js';
export type { AbuseLimitsConfig } from './abuse-limits.config.js';
export { PasswordHashingSlots } from './password-hashing-slots.js';
export { RateLimited } from './rate-limited.decorator.js';
