/** The named character references that real pages use most; numeric references are decoded in full. */
const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '\u00a9', reg: '\u00ae', trade: '\u2122',
  hellip: '\u2026', mdash: '\u2014', ndash: '\u2013', laquo: '\u00ab', raquo: '\u00bb', lsquo: '\u2018', rsquo: '\u2019',
  ldquo: '\u201c', rdquo: '\u201d', bull: '\u2022', middot: '\u00b7', euro: '\u20ac', pound: '\u00a3', yen: '\u00a5',
  deg: '\u00b0', times: '\u00d7', divide: '\u00f7', sect: '\u00a7', para: '\u00b6', shy: '\u00ad', zwnj: '\u200c', zwj: '\u200d',
  eacute: '\u00e9', egrave: '\u00e8', ecirc: '\u00ea', euml: '\u00eb', aacute: '\u00e1', agrave: '\u00e0', acirc: '\u00e2',
  auml: '\u00e4', aring: '\u00e5', atilde: '\u00e3', iacute: '\u00ed', igrave: '\u00ec', icirc: '\u00ee', iuml: '\u00ef',
  oacute: '\u00f3', ograve: '\u00f2', ocirc: '\u00f4', ouml: '\u00f6', otilde: '\u00f5', oslash: '\u00f8', uacute: '\u00fa',
  ugrave: '\u00f9', ucirc: '\u00fb', uuml: '\u00fc', ccedil: '\u00e7', ntilde: '\u00f1', szlig: '\u00df', Eacute: '\u00c9',
  Auml: '\u00c4', Ouml: '\u00d6', Uuml: '\u00dc', Ccedil: '\u00c7', Ntilde: '\u00d1', aelig: '\u00e6', oelig: '\u0153',
};

const REF_RE = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));?/g;

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(REF_RE, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(cp);
  });
}
