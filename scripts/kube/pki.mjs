// The certificates and keys a local control plane needs, made with the machine's openssl: one CA, the API
// server's serving certificate, an admin client certificate (group system:masters), and the service-account
// signing key pair. EC P-256 throughout; nothing here is for production, it lives under the state directory.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT')
      throw new Error('openssl is missing: install it (apt-get install -y openssl)', { cause: error });
    throw new Error(`openssl ${args[0]} failed: ${String(error.stderr ?? error.message).trim()}`, { cause: error });
  }
}

const newKey = (dir, name) =>
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);

function signedCertificate(dir, name, subject, extensions) {
  newKey(dir, name);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Makes every file once; a second call with the same directory keeps them (and so keeps issued tokens valid). */
export function ensurePki(dir) {
  const files = {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey: join(dir, 'service-accounts.key'),
    serviceAccountPub: join(dir, 'service-accounts.pub'),
  };
  if (Object.values(files).every((file) => existsSync(file))) return files;
  newKey(dir, 'ca');
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=switchyard-local-ca', '-days', '3650', '-out', 'ca.crt'],
    dir,
  );
  signedCertificate(dir, 'apiserver', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    // 10.96.0.1 is the `kubernetes` Service's address in --service-cluster-ip-range; host.docker.internal and
    // 172.17.0.1 let containers on Docker's default bridge reach it.
    'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:172.17.0.1,DNS:localhost,DNS:host.docker.internal,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ]);
  signedCertificate(dir, 'admin', '/O=system:masters/CN=switchyard-admin', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
  ]);
  newKey(dir, 'service-accounts');
  openssl(['pkey', '-in', 'service-accounts.key', '-pubout', '-out', 'service-accounts.pub'], dir);
  return files;
}
