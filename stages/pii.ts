import { v, type TransformStage } from '../runner/stage.ts';

/**
 * Replaces email addresses and public IPv4 addresses with fixed placeholders. Unlike DataTrove's
 * rotating fake values, the replacement never depends on which documents came before, so output does not
 * depend on document order, sharding or concurrency.
 */
export interface PiiParams {
  readonly emailPlaceholder: string;
  readonly ipv4Placeholder: string;
}

const EMAIL = /\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\b/g;
const IPV4 = /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.]\d)/g;

/** Not routable on the public internet: private, loopback, link-local, CGNAT, documentation, multicast, reserved. */
export function isPublicIpv4(ip: string): boolean {
  const [a, b, c] = ip.split('.').map(Number) as [number, number, number, number];
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
  if (a === 100 && b >= 64 && b <= 127) return false;
  if (a === 169 && b === 254) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return false;
  if (a === 198 && (b === 18 || b === 19)) return false;
  if (a === 198 && b === 51 && c === 100) return false;
  if (a === 203 && b === 0 && c === 113) return false;
  return true;
}

export const pii: TransformStage<PiiParams> = {
  kind: 'transform',
  name: 'pii',
  version: '1',
  description: 'Replaces email addresses and public IPv4 addresses with fixed placeholders (no order-dependent state).',
  parseParams(raw, field) {
    const o = v.object(raw, field, ['emailPlaceholder', 'ipv4Placeholder']);
    return {
      emailPlaceholder: v.string(o.emailPlaceholder ?? 'email@example.com', `${field}.emailPlaceholder`),
      ipv4Placeholder: v.string(o.ipv4Placeholder ?? '192.0.2.0', `${field}.ipv4Placeholder`),
    };
  },
  async *run(input, ctx) {
    const { emailPlaceholder, ipv4Placeholder } = ctx.params;
    for await (const rec of input) {
      if (typeof rec.text !== 'string') {
        yield rec;
        continue;
      }
      let emails = 0;
      let ips = 0;
      const text = rec.text
        .replace(EMAIL, () => {
          emails++;
          return emailPlaceholder;
        })
        .replace(IPV4, (ip) => {
          if (!isPublicIpv4(ip)) return ip;
          ips++;
          return ipv4Placeholder;
        });
      if (emails) ctx.counters.add('emails-replaced', emails);
      if (ips) ctx.counters.add('ipv4-replaced', ips);
      yield text === rec.text ? rec : { ...rec, text };
    }
  },
};
