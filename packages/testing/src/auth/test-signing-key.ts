import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh EC P-256 private key in a PEM file of its own (mode 0600), as `AUTH_SIGNING_KEY_FILE` expects: PKCS#8, or
 * SEC1 (`EC PRIVATE KEY`, what Helm's `genPrivateKey "ecdsa"` makes). Returns the file's path.
 */
export function writeTestSigningKey(format: 'pkcs8' | 'sec1' = 'pkcs8'): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const path = join(mkdtempSync(join(tmpdir(), 'switchyard-key-')), 'signing-key.pem');
  writeFileSync(path, privateKey.export({ type: format, format: 'pem' }), { mode: 0o600 });
  return path;
}
