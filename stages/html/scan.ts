/**
 * A single-pass HTML tokenizer built for text extraction: it jumps between '<' with indexOf, reads only the
 * three attributes extraction looks at (class, id, role), and reports text as index ranges into the page so
 * that text nobody keeps (scripts, navigation) is never copied or decoded. Tokenizing follows the HTML
 * standard where it decides what is text: comments end at "-->" or "--!>" (and "<!-->" is empty), any other
 * "<!...", "<?...", or "</" not followed by a letter is a bogus comment up to '>', a '<' not starting markup
 * is text, raw-text elements run to their own end tag matched case-insensitively, and a quoted attribute value
 * may hold '>'. A tag cut off by the end of the input is dropped, as a browser drops it. Never throws.
 */
import { nameHash, PLAINTEXT, RAW_TEXT, RCDATA, TAGS, tagAt, type TagInfo } from './tags.ts';

export interface OpenTag {
  /** Lowercased name. */
  name: string;
  /** What tags.ts knows about the name, if anything. */
  info: TagInfo | undefined;
  /** The first class, id and role attributes' raw values (character references not decoded), or undefined. */
  cls: string | undefined;
  id: string | undefined;
  role: string | undefined;
  /** Written as "<x/>"; only foreign content (svg, math) treats that as closed. */
  selfClosing: boolean;
}

export interface ScanSink {
  /** Text between markup: html[start, end), character references not yet decoded. */
  text(start: number, end: number): void;
  /** Content of a raw-text element: html[start, end); `rcdata` (title, textarea) means references decode. */
  rawText(start: number, end: number, rcdata: boolean): void;
  /** Whether an open tag with this name needs its class, id and role read (not when they cannot matter). */
  wantsAttributes(info: TagInfo | undefined): boolean;
  /** The tag object is reused for the next tag: read it, do not keep it. */
  openTag(tag: OpenTag): void;
  closeTag(name: string, info: TagInfo | undefined): void;
  /** Inside svg or math: raw-text names are ordinary there, and CDATA is text. */
  inForeign(): boolean;
}

const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQ = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DASH = 0x2d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0c || c === 0x0d;
}

function isAlpha(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

/** Where a tag name ends: whitespace, '/' or '>' (letters, the common case, fail the first test). */
function isNameEnd(c: number): boolean {
  return c <= GT && (c === GT || c === SLASH || isSpace(c));
}

/** Reads the tag name html[start, end) (hash from nameHash) into `into`: a known name allocates nothing. */
function readName(html: string, start: number, end: number, hash: number, into: { name: string; info: TagInfo | undefined }): void {
  const known = tagAt(html, start, end, hash);
  if (known !== undefined) {
    into.name = known.name;
    into.info = known;
    return;
  }
  // Not a known name in ASCII: toLowerCase as htmlparser2 did (so a Kelvin sign in "linK" still reads "link").
  const name = html.slice(start, end).toLowerCase();
  into.name = name;
  into.info = TAGS.get(name);
}

/** Does html[at..] spell `lower` (ASCII, case-insensitively)? */
function matchesName(html: string, at: number, lower: string): boolean {
  if (at + lower.length > html.length) return false;
  for (let k = 0; k < lower.length; k++) {
    if ((html.charCodeAt(at + k) | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/** Reads one attribute into the tag if it is class, id or role and the first of its name. */
function keepAttr(html: string, tag: OpenTag, ns: number, ne: number, value: string): void {
  const len = ne - ns;
  if (len === 5) {
    if (tag.cls === undefined && matchesName(html, ns, 'class')) tag.cls = value;
  } else if (len === 2) {
    if (tag.id === undefined && matchesName(html, ns, 'id')) tag.id = value;
  } else if (len === 4) {
    if (tag.role === undefined && matchesName(html, ns, 'role')) tag.role = value;
  }
}

/**
 * Reads an open tag whose name starts at `i` (just after '<'). Fills `tag` and returns the index after its
 * '>', or -1 if the input ends first.
 */
function readOpenTag(html: string, i: number, tag: OpenTag, sink: ScanSink): number {
  const n = html.length;
  const nameStart = i;
  let hash = 0;
  for (let c = 0; i < n && !isNameEnd((c = html.charCodeAt(i))); i++) hash = nameHash(hash, c);
  if (i >= n) return -1;
  readName(html, nameStart, i, hash, tag);
  tag.cls = tag.id = tag.role = undefined;
  const wanted = sink.wantsAttributes(tag.info);
  tag.selfClosing = false;
  for (;;) {
    let c = 0;
    while (i < n && isSpace((c = html.charCodeAt(i)))) i++;
    if (i >= n) return -1;
    if (c === GT) return i + 1;
    if (c === SLASH) {
      i++;
      while (i < n && isSpace(html.charCodeAt(i))) i++;
      if (i >= n) return -1;
      if (html.charCodeAt(i) === GT) {
        tag.selfClosing = true;
        return i + 1;
      }
      continue; // "/" then an attribute: the slash meant nothing
    }
    // An attribute name: its first character is taken whatever it is (even '=' or a quote).
    const ns = i++;
    while (i < n && ((c = html.charCodeAt(i)) > GT || (c !== EQ && !isNameEnd(c)))) i++;
    const ne = i;
    while (i < n && isSpace((c = html.charCodeAt(i)))) i++;
    if (i >= n) return -1;
    if (c !== EQ) {
      if (wanted) keepAttr(html, tag, ns, ne, '');
      continue;
    }
    i++;
    while (i < n && isSpace((c = html.charCodeAt(i)))) i++;
    if (i >= n) return -1;
    let vs: number;
    let ve: number;
    if (c === DQUOTE || c === SQUOTE) {
      vs = i + 1;
      ve = html.indexOf(c === DQUOTE ? '"' : "'", vs);
      if (ve < 0) return -1;
      i = ve + 1;
    } else {
      vs = i;
      while (i < n && ((c = html.charCodeAt(i)) > GT || (c !== GT && !isSpace(c)))) i++;
      if (i >= n) return -1;
      ve = i;
    }
    if (wanted && ne - ns <= 5) keepAttr(html, tag, ns, ne, html.slice(vs, ve));
  }
}

/** Index after the '>' of a comment whose body starts at `s` (just after "<!--"), or n. */
function commentEnd(html: string, s: number): number {
  const n = html.length;
  // "<!-->" and "<!--->" are complete (empty) comments.
  if (html.charCodeAt(s) === GT) return s + 1;
  if (html.charCodeAt(s) === DASH && html.charCodeAt(s + 1) === GT) return s + 2;
  let i = s;
  for (;;) {
    const d = html.indexOf('--', i);
    if (d < 0) return n;
    let j = d + 2;
    while (html.charCodeAt(j) === DASH) j++; // "--->" ends too
    if (html.charCodeAt(j) === GT) return j + 1;
    if (html.charCodeAt(j) === BANG && html.charCodeAt(j + 1) === GT) return j + 2;
    i = j;
  }
}

/** Start of the end tag "</name" (followed by whitespace, '/' or '>') at or after `from`, or -1. */
function findEndTag(html: string, from: number, name: string): number {
  let i = from;
  for (;;) {
    i = html.indexOf('</', i);
    if (i < 0) return -1;
    if (matchesName(html, i + 2, name) && isNameEnd(html.charCodeAt(i + 2 + name.length))) return i;
    i += 2;
  }
}

/** Index after the '>' at or after `from`, or n when there is none (the rest was inside the markup). */
function after(html: string, from: number): number {
  const gt = html.indexOf('>', from);
  return gt < 0 ? html.length : gt + 1;
}

export function scanHtml(html: string, sink: ScanSink): void {
  const n = html.length;
  const tag: OpenTag = { name: '', info: undefined, cls: undefined, id: undefined, role: undefined, selfClosing: false };
  const closing = { name: '', info: undefined as TagInfo | undefined };
  let textStart = 0;
  let pos = 0;
  while (pos < n) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) break;
    const c = html.charCodeAt(lt + 1); // NaN at the end: then '<' is text
    if (isAlpha(c)) {
      const foreign = sink.inForeign();
      const end = readOpenTag(html, lt + 1, tag, sink);
      if (end < 0) {
        if (lt > textStart) sink.text(textStart, lt);
        return;
      }
      if (lt > textStart) sink.text(textStart, lt);
      sink.openTag(tag);
      pos = textStart = end;
      const raw = foreign || tag.info === undefined ? 0 : tag.info.flags & (RAW_TEXT | RCDATA | PLAINTEXT);
      if (raw === 0) continue;
      if (raw === PLAINTEXT) {
        if (end < n) sink.rawText(end, n, false);
        return;
      }
      const { name, info } = tag;
      const close = findEndTag(html, end, name);
      if (close < 0) {
        if (end < n) sink.rawText(end, n, raw === RCDATA);
        return;
      }
      if (close > end) sink.rawText(end, close, raw === RCDATA);
      sink.closeTag(name, info);
      pos = textStart = after(html, close + 2 + name.length);
    } else if (c === SLASH) {
      const c2 = html.charCodeAt(lt + 2);
      if (Number.isNaN(c2)) break; // "</" at the end is text
      if (lt > textStart) sink.text(textStart, lt);
      if (isAlpha(c2)) {
        let i = lt + 2;
        let hash = 0;
        for (let ch = 0; i < n && !isNameEnd((ch = html.charCodeAt(i))); i++) hash = nameHash(hash, ch);
        if (i >= n) return; // cut off inside the name: dropped
        readName(html, lt + 2, i, hash, closing);
        sink.closeTag(closing.name, closing.info);
        pos = textStart = after(html, i); // anything up to '>' (even attributes) is ignored
      } else if (c2 === GT) {
        pos = textStart = lt + 3; // "</>" is nothing
      } else {
        pos = textStart = after(html, lt + 2); // bogus comment
      }
    } else if (c === BANG) {
      if (lt > textStart) sink.text(textStart, lt);
      if (html.startsWith('--', lt + 2)) {
        pos = textStart = commentEnd(html, lt + 4);
      } else if (html.startsWith('[CDATA[', lt + 2)) {
        const close = html.indexOf(']]>', lt + 9);
        // In HTML, CDATA is a bogus comment; inside svg or math it is text.
        if (close >= 0 && sink.inForeign()) sink.rawText(lt + 9, close, false);
        pos = textStart = close < 0 ? n : close + 3;
      } else {
        pos = textStart = after(html, lt + 2); // <!DOCTYPE ...> and bogus comments
      }
    } else if (c === QUESTION) {
      if (lt > textStart) sink.text(textStart, lt);
      pos = textStart = after(html, lt + 2); // processing instruction: a bogus comment in HTML
    } else {
      pos = lt + 1; // a '<' that starts nothing stays in the text
    }
  }
  if (n > textStart) sink.text(textStart, n);
}
