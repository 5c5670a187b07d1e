/**
 * The source-address allow-list of the WebEx listener (`webex.allowedSources`): CIDR blocks,
 * IPv4 and IPv6. A connection from anywhere else is answered Confirmation 5 before a byte of
 * its body is read. An empty list allows every source (the loopback default; the mutual TLS
 * check is the stronger control and does not depend on it).
 *
 * Built once at start-up on node's BlockList; an IPv4 peer seen through a dual-stack socket
 * (`::ffff:192.0.2.1`) is matched as the IPv4 address it is.
 */
import net from 'node:net';

/** Why a CIDR entry cannot be used, or undefined when it is fine (the config schema calls this). */
export function cidrProblem(entry: string): string | undefined {
  const parsed = parseCidr(entry);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** Compiles the entries; the returned check says whether a peer address may talk to the adaptor. */
export function compileSourceAllowList(entries: readonly string[]): (address: string | undefined) => boolean {
  if (entries.length === 0) return () => true;
  const list = new net.BlockList();
  for (const entry of entries) {
    const parsed = parseCidr(entry);
    if (typeof parsed === 'string') throw new Error(`webex.allowedSources: "${entry}" ${parsed}`);
    list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (address) => {
    if (!address) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return list.check(mapped, 'ipv4');
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
    return family !== undefined && list.check(address, family);
  };
}

function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return 'must be an address or address/prefix such as 192.0.2.0/24 or 2001:db8::/32';
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return 'must start with an IPv4 or IPv6 address such as 192.0.2.0/24 or 2001:db8::/32';
  const bits = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: bits, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return `has a prefix length outside 0..${bits}`;
  return { address, prefix, family };
}
