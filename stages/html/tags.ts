/**
 * What extraction needs to know about each tag name, in one lookup per tag: the flags below and the open
 * elements a new one closes implicitly. The implied closes are htmlparser2's table (Parser.ts,
 * `openImpliesClose`), which extract.ts followed until version 3 of html-text; keeping it keeps the text of
 * unclosed <p>, <li>, <td>... pages as it was.
 */
export const SKIP = 1;
export const BLOCK = 2;
export const CELL = 4;
/** Elements whose class names say nothing about boilerplate (a body class of "has-header" keeps the page). */
export const CONTAINER = 8;
/** Never on the stack: an open tag is also its own close. */
export const VOID = 16;
/** svg and math: foreign content, where script/style are not raw text and "/>" closes the element. */
export const FOREIGN = 32;
/** Elements inside foreign content that hold HTML again (svg title, foreignObject, MathML text). */
export const INTEGRATION = 64;
/**
 * Content is not markup: raw text (script, style...), RCDATA where character references still decode
 * (title, textarea), or <plaintext>, which never ends. noscript is raw text as in a browser with scripting
 * on, which is what a page's author saw: its fallback markup does not open or close elements around it.
 */
export const RAW_TEXT = 128;
export const RCDATA = 256;
export const PLAINTEXT = 512;

export interface TagInfo {
  /** The name as an internalized constant, so stack comparisons are pointer checks. */
  readonly name: string;
  readonly flags: number;
  /** Open elements on top of the stack that this tag closes first, or null. */
  readonly closes: ReadonlySet<string> | null;
}

const skip = ['script', 'style', 'noscript', 'template', 'nav', 'header', 'footer', 'aside', 'form', 'button', 'select', 'option', 'svg', 'iframe', 'head', 'menu', 'dialog', 'textarea', 'object', 'canvas', 'math'];
const block = [
  'p', 'div', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'tr', 'table', 'section',
  'article', 'main', 'blockquote', 'pre', 'figure', 'figcaption', 'address', 'details', 'summary', 'caption', 'tbody', 'thead', 'body', 'html',
];
const cell = ['td', 'th'];
const container = ['html', 'body', 'main', 'article'];
const voids = ['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr'];
const foreign = ['svg', 'math'];
const integration = ['mi', 'mo', 'mn', 'ms', 'mtext', 'annotation-xml', 'foreignobject', 'desc', 'title'];
const rawText = ['script', 'style', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript'];
const rcdata = ['title', 'textarea'];
/** Frequent names with no flags, listed so that reading them allocates nothing (see tagAt). */
const common = ['span', 'a', 'b', 'i', 'u', 's', 'em', 'strong', 'code', 'small', 'font', 'label', 'sup', 'sub', 'abbr', 'time', 'cite', 'q', 'mark', 'kbd', 'var', 'samp', 'center', 'picture', 'legend', 'fieldset', 'colgroup', 'tfoot', 'rt', 'rp', 'optgroup', 'output', 'datalist', 'path', 'g', 'use', 'del', 'ins', 'dfn', 'bdi', 'bdo', 'big', 'tt', 'strike', 'video', 'audio', 'ruby'];

const formTags = new Set(['input', 'option', 'optgroup', 'select', 'button', 'datalist', 'textarea']);
const pTag = new Set(['p']);
const headingTags = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p']);
const tableSectionTags = new Set(['thead', 'tbody']);
const ddtTags = new Set(['dd', 'dt']);
const rtpTags = new Set(['rt', 'rp']);
const impliesClose = new Map<string, ReadonlySet<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['body', new Set(['head', 'link', 'script'])],
  ['a', new Set(['a'])],
  ['li', new Set(['li'])],
  ['p', pTag],
  ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h): [string, ReadonlySet<string>] => [h, headingTags]),
  ...['select', 'input', 'output', 'button', 'datalist', 'textarea'].map((f): [string, ReadonlySet<string>] => [f, formTags]),
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ['dd', ddtTags],
  ['dt', ddtTags],
  ...['address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'header', 'hr', 'main', 'nav', 'ol', 'pre', 'section', 'table', 'ul'].map(
    (b): [string, ReadonlySet<string>] => [b, pTag],
  ),
  ['rt', rtpTags],
  ['rp', rtpTags],
  ['tbody', tableSectionTags],
  ['tfoot', tableSectionTags],
]);

function build(): Map<string, TagInfo> {
  const flags = new Map<string, number>();
  const mark = (names: readonly string[], flag: number) => {
    for (const n of names) flags.set(n, (flags.get(n) ?? 0) | flag);
  };
  mark(skip, SKIP);
  mark(block, BLOCK);
  mark(cell, CELL);
  mark(container, CONTAINER);
  mark(voids, VOID);
  mark(foreign, FOREIGN);
  mark(integration, INTEGRATION);
  mark(rawText, RAW_TEXT);
  mark(rcdata, RCDATA);
  mark(['plaintext'], PLAINTEXT);
  mark(common, 0);
  for (const n of impliesClose.keys()) mark([n], 0);
  const out = new Map<string, TagInfo>();
  for (const [name, f] of flags) out.set(name, { name, flags: f, closes: impliesClose.get(name) ?? null });
  return out;
}

export const TAGS: ReadonlyMap<string, TagInfo> = build();

/** The hash tagAt computes while the scanner reads a name: ASCII letters folded to lowercase. */
export function nameHash(h: number, c: number): number {
  return (Math.imul(h, 31) + (c | 0x20)) | 0;
}

const BY_HASH = new Map<number, TagInfo>();
for (const info of TAGS.values()) {
  let h = 0;
  for (let k = 0; k < info.name.length; k++) h = nameHash(h, info.name.charCodeAt(k));
  // Two known names on one hash would make the second unreachable here (tagAt's caller falls back to TAGS).
  if (!BY_HASH.has(h)) BY_HASH.set(h, info);
}

/**
 * The known tag spelled html[start, end) in any ASCII case, found by the hash of its name and checked
 * character by character; undefined for other names.
 */
export function tagAt(html: string, start: number, end: number, hash: number): TagInfo | undefined {
  const info = BY_HASH.get(hash);
  if (info === undefined || info.name.length !== end - start) return undefined;
  const name = info.name;
  for (let k = 0; k < name.length; k++) {
    if ((html.charCodeAt(start + k) | 0x20) !== name.charCodeAt(k)) return undefined;
  }
  return info;
}
