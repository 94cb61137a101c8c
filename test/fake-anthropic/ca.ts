// A throw-away certificate authority made with the openssl CLI, so the fake needs no npm dependency.
// The CA key never leaves the temp dir; the CA certificate is what clients trust (NODE_EXTRA_CA_CERTS).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LeafCert {
  key: string; // PEM
  cert: string; // PEM, leaf only (the client already has the CA)
}

export interface CertAuthority {
  dir: string;
  caPath: string;
  caPem: string;
  /** Leaf for one host name or IP, signed by the CA; made once per host and cached. */
  leaf(host: string): Promise<LeafCert>;
  dispose(): Promise<void>;
}

// Host names come from CONNECT lines and SNI, i.e. from the network: accept only what a DNS name
// or IP literal can be, so nothing odd reaches openssl's config syntax or a file name.
const HOST_RE = /^[A-Za-z0-9.-]{1,253}$|^[0-9A-Fa-f:.]{2,45}$/;

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export async function createCertAuthority(opts: { dir?: string } = {}): Promise<CertAuthority> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'fake-anthropic-ca-')));
  // mkdtemp makes 0700; a container's non-root user must be able to reach ca.pem when mounted.
  await chmod(dir, 0o755);
  const caKey = join(dir, 'ca.key');
  const caPath = join(dir, 'ca.pem');
  // EC P-256: fast to make, accepted by Node/Bun/BoringSSL and OpenSSL alike.
  await openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', caKey, '-out', caPath, '-days', '30', '-subj', '/CN=fake-anthropic test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
    ],
    dir,
  );
  await chmod(caKey, 0o600);
  await chmod(caPath, 0o644);
  const caPem = await readFile(caPath, 'utf8');

  const cache = new Map<string, Promise<LeafCert>>();

  async function makeLeaf(host: string): Promise<LeafCert> {
    // File names from a hash: hosts may contain ':' (IPv6).
    const id = createHash('sha256').update(host).digest('hex').slice(0, 16);
    const key = join(dir, `${id}.key`);
    const csr = join(dir, `${id}.csr`);
    const crt = join(dir, `${id}.pem`);
    const ext = join(dir, `${id}.ext`);
    const san = isIP(host) ? `IP:${host}` : `DNS:${host}`;
    await writeFile(
      ext,
      [
        `subjectAltName=${san}`,
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        '',
      ].join('\n'),
    );
    await openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', csr, '-subj', `/CN=${host.slice(0, 64)}`],
      dir,
    );
    // Random serial per leaf: clients may cache by issuer+serial.
    await openssl(
      ['x509', '-req', '-in', csr, '-CA', caPath, '-CAkey', caKey, '-set_serial',
        `0x${createHash('sha256').update(host + Date.now() + Math.random()).digest('hex').slice(0, 30)}`,
        '-days', '7', '-extfile', ext, '-out', crt],
      dir,
    );
    await chmod(key, 0o600); // the dir is world-readable for ca.pem's sake; keys need not be
    return { key: await readFile(key, 'utf8'), cert: await readFile(crt, 'utf8') };
  }

  return {
    dir,
    caPath,
    caPem,
    leaf(host: string): Promise<LeafCert> {
      const h = host.toLowerCase().replace(/^\[|\]$/g, '');
      if (!HOST_RE.test(h)) return Promise.reject(new Error(`refusing odd host name ${JSON.stringify(host)}`));
      let p = cache.get(h);
      if (!p) {
        p = makeLeaf(h);
        cache.set(h, p);
        p.catch(() => cache.delete(h)); // a failure is not cached
      }
      return p;
    },
    async dispose(): Promise<void> {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
