import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks signing (standardwebhooks.com): `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`. */
export function signatureWith(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The `webhook-signature` header: one signature per secret, space-separated (two during a rotation). */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((s) => signatureWith(s, id, timestamp, body)).join(' ');
}

/** A new `whsec_` secret: base64 of 32 random bytes. */
export function mintWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

const SEALED = 'aesgcm:';

/**
 * Secrets at rest: Stoa must sign with them, so it stores them recoverable.
 * With a key (STOA_JWT_KEYS_ENCRYPTION_KEY) they are sealed with AES-256-GCM,
 * bound to their row by the associated data; without one they are stored as issued.
 */
export interface SecretBox {
  seal(secret: string, context: string): string;
  open(stored: string, context: string): string;
}

export function createSecretBox(key: Buffer | undefined): SecretBox {
  return {
    seal(secret, context) {
      if (!key) return secret;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${SEALED}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${sealed.toString('base64url')}`;
    },
    open(stored, context) {
      if (!stored.startsWith(SEALED)) return stored;
      if (!key) throw new Error(`the secret of ${context} is stored encrypted: set STOA_JWT_KEYS_ENCRYPTION_KEY`);
      const [iv, tag, sealed] = stored.slice(SEALED.length).split('.');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed!, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
