/**
 * TLS for the gRPC servers and clients, from PEM files (tools/dev/certs.sh makes a local CA and the
 * stack's certificates). A server with a certificate refuses plaintext; with `clientAuth` it also
 * requires a client certificate signed by `caFile` (mutual TLS). A client with `caFile` trusts only
 * that CA, and presents `certFile` / `keyFile` when given (for servers that require mTLS).
 */
import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';

/** PEM file paths; every field optional (nothing set = plaintext). */
export interface TlsFiles {
  /** This side's certificate chain (a server's, or a client's for mTLS). */
  certFile?: string | undefined;
  /** Its private key. */
  keyFile?: string | undefined;
  /** The CA that signs the peers: clients verify servers with it; an mTLS server verifies clients. */
  caFile?: string | undefined;
  /** Server side: require and verify a client certificate (mutual TLS). */
  clientAuth?: boolean | undefined;
}

/** Whether these settings turn TLS on for a client (a CA to verify the server with). */
export function tlsClientEnabled(tls: TlsFiles | undefined): boolean {
  return Boolean(tls?.caFile);
}

/** Server credentials: TLS when a certificate and key are given, otherwise insecure. */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls?.certFile && !tls?.keyFile) {
    if (tls?.clientAuth) throw new Error('TLS client auth needs a server certificate and key');
    return ServerCredentials.createInsecure();
  }
  if (!tls.certFile || !tls.keyFile) throw new Error('TLS needs both a certificate file and a key file');
  if (tls.clientAuth && !tls.caFile) throw new Error('TLS client auth needs the CA file that signs the clients');
  const ca = tls.caFile ? readFileSync(tls.caFile) : null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], Boolean(tls.clientAuth));
}

/** Channel credentials: TLS (verifying the server against `caFile`) when a CA is given, otherwise insecure. */
export function channelCredentials(tls: TlsFiles | undefined): ChannelCredentials {
  if (!tls?.caFile) return credentials.createInsecure();
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new Error('a TLS client certificate needs both its certificate and key files');
  return credentials.createSsl(
    readFileSync(tls.caFile),
    tls.keyFile ? readFileSync(tls.keyFile) : null,
    tls.certFile ? readFileSync(tls.certFile) : null,
  );
}
