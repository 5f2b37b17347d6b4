import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { PasswordHashingSlots } from '../abuse-limits/index.js';

/**
 * argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): strong enough for stored credentials,
 * cheap enough (~20 ms here) to hash on a request. @node-rs/argon2 ships prebuilt binaries: nothing compiles at install.
 * The library's default algorithm is argon2id; the tests assert the `$argon2id$` prefix.
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  /** Both directions take a slot: a flood of sign-ups or of token requests must not starve the process. */
  constructor(private readonly slots: PasswordHashingSlots) {}

  hash(password: string): Promise<string> {
    return this.slots.run(() => hash(password, ARGON2_OPTIONS));
  }

  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.slots.run(() => verify(passwordHash, password));
  }
}
