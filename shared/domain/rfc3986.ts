/**
 * RFC 3986 (appendix A's ABNF, ASCII only, no repairs) for `scheme://authority path ?query #fragment`:
 * the parts a strict parser sees, or null when the string is not such a URI. Route URLs must satisfy it as
 * well as WHATWG URL, so that clients of either kind read the same host.
 */
const UNRESERVED = 'A-Za-z0-9\\-._~';
const SUB_DELIMS = "!$&'()*+,;=";
const PCT = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT})`;
const DEC_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const H16 = '[0-9A-Fa-f]{1,4}';
// IPv6address in the shapes WHATWG URL serializes (compressed, lower-case, optional trailing IPv4).
const IPV6 = `(?:(?:${H16}:){0,7}${H16}|(?:(?:${H16}:){0,6}${H16})?::(?:(?:${H16}:){0,6}${H16})?)`;
const URI = new RegExp(
  `^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?:(?<userinfo>(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT})*)@)?` +
    `(?<host>\\[${IPV6}\\]|${DEC_OCTET}(?:\\.${DEC_OCTET}){3}|(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT})*)` +
    `(?::(?<port>[0-9]*))?(?<path>(?:/${PCHAR}*)*)(?:\\?(?<query>(?:${PCHAR}|[/?])*))?` +
    `(?:#(?<fragment>(?:${PCHAR}|[/?])*))?$`,
);

export interface Rfc3986Parts {
  readonly scheme: string;
  readonly userinfo: string | undefined;
  /** Lower-cased (RFC 3986 §6.2.2.1). */
  readonly host: string;
  readonly port: string | undefined;
  readonly path: string;
  readonly query: string | undefined;
  readonly fragment: string | undefined;
}

export const parseRfc3986 = (uri: string): Rfc3986Parts | null => {
  const g = URI.exec(uri)?.groups;
  if (!g) return null;
  return {
    scheme: g.scheme!,
    userinfo: g.userinfo,
    host: g.host!.toLowerCase(),
    port: g.port,
    path: g.path ?? '',
    query: g.query,
    fragment: g.fragment,
  };
};
