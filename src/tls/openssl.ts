import { execa } from 'execa';

export interface SelfSignedRequest {
  keyFile: string;
  certFile: string;
  days: number;
  /** e.g. `/CN=127.0.0.1` */
  subject: string;
  /** e.g. `DNS:localhost,IP:127.0.0.1` */
  subjectAltName: string;
}

/**
 * A self-signed certificate and its EC P-256 key, written to the two files by the openssl CLI
 * (node:crypto cannot make certificates).
 */
export async function opensslSelfSigned(request: SelfSignedRequest): Promise<void> {
  await execa(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      request.keyFile,
      '-out',
      request.certFile,
      '-days',
      String(request.days),
      '-subj',
      request.subject,
      '-addext',
      `subjectAltName=${request.subjectAltName}`,
    ],
    { timeout: 30_000 },
  );
}
