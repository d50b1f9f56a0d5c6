import { decodeEntities } from './entities.ts';

/**
 * A small main-content extractor: drops elements that are boilerplate by tag (nav, header, footer, aside,
 * forms, scripts, styles) or by a class/id that names boilerplate (menu, cookie, banner, sidebar...), keeps
 * the text of the rest with block elements as line breaks. Limits are counts, never wall-clock time, so a
 * slow machine gives the same text as a fast one. The text issue replaces this with a fuller extractor.
 */
export interface ExtractLimits {
  /** Characters of HTML looked at; the rest of the page is ignored. */
  readonly maxChars: number;
  /** Open elements tracked; deeper nesting is flattened. */
  readonly maxDepth: number;
}

export interface Extracted {
  readonly title: string;
  readonly text: string;
}

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'noscript', 'template', 'title', 'xmp', 'iframe', 'noembed', 'noframes']);
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'header', 'footer', 'aside', 'form', 'button', 'select', 'svg', 'iframe', 'head', 'menu', 'dialog', 'textarea', 'object', 'canvas']);
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const BLOCK = new Set([
  'p', 'div', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'tr', 'table', 'section',
  'article', 'main', 'blockquote', 'pre', 'figure', 'figcaption', 'address', 'details', 'summary', 'caption', 'tbody', 'thead', 'body',
]);
/** Elements whose class names say nothing about boilerplate (a body class of "has-header" keeps the page). */
const CONTAINER = new Set(['html', 'body', 'main', 'article']);
const CELL = new Set(['td', 'th']);
const BOILERPLATE_ATTR = /\b(?:nav|navbar|menu|breadcrumbs?|cookie|consent|banner|sidebar|footer|header|share|social|subscribe|newsletter|advert|ads?|promo|related|comments?)\b/i;
const ATTR_RE = /\b(?:class|id|role)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;

export function extractText(html: string, limits: ExtractLimits): Extracted {
  const src = html.length > limits.maxChars ? html.slice(0, limits.maxChars) : html;
  const stack: { name: string; skip: boolean }[] = [];
  let skipDepth = 0;
  const lines: string[] = [];
  let current = '';
  let title = '';
  const breakLine = () => {
    const t = current.replace(/[ \t\r\n\f\u00a0]+/g, ' ').trim();
    if (t) lines.push(t);
    current = '';
  };
  let i = 0;
  const n = src.length;
  while (i < n) {
    const lt = src.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i && skipDepth === 0) current += decodeEntities(src.slice(i, textEnd));
    if (lt === -1) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      i = end === -1 ? n : end + 3;
      continue;
    }
    if (src[i + 1] === '!' || src[i + 1] === '?') {
      const end = src.indexOf('>', i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    const m = /^<(\/?)([A-Za-z][A-Za-z0-9:-]*)/.exec(src.slice(i, i + 64));
    if (!m) {
      if (skipDepth === 0) current += '<';
      i++;
      continue;
    }
    const end = findTagEnd(src, i);
    const closing = m[1] === '/';
    const name = m[2]!.toLowerCase();
    const tagText = src.slice(i, end);
    i = end;
    if (closing) {
      const at = findOpen(stack, name);
      if (at !== -1) {
        while (stack.length > at) {
          const popped = stack.pop()!;
          if (popped.skip) skipDepth--;
        }
      }
      if (skipDepth === 0 && (BLOCK.has(name) || CELL.has(name))) CELL.has(name) ? (current += ' ') : breakLine();
      continue;
    }
    const selfClosing = tagText.endsWith('/>');
    if (skipDepth === 0 && BLOCK.has(name)) breakLine();
    if (RAW_TEXT.has(name)) {
      const closeRe = new RegExp(`</${name}`, 'gi');
      closeRe.lastIndex = i;
      const close = closeRe.exec(src)?.index ?? -1;
      const inner = src.slice(i, close === -1 ? n : close);
      if (name === 'title' && !title) title = decodeEntities(inner).replace(/\s+/g, ' ').trim();
      else if ((name === 'textarea' || name === 'xmp') && skipDepth === 0 && !SKIP.has(name)) current += decodeEntities(inner);
      const closeEnd = close === -1 ? n : src.indexOf('>', close);
      i = closeEnd === -1 ? n : closeEnd + 1;
      continue;
    }
    if (VOID.has(name) || selfClosing) continue;
    const skip = SKIP.has(name) || (!CONTAINER.has(name) && isBoilerplate(tagText));
    if (stack.length < limits.maxDepth) {
      stack.push({ name, skip });
      if (skip) skipDepth++;
    }
  }
  breakLine();
  return { title, text: lines.join('\n') };
}

function findTagEnd(src: string, start: number): number {
  let quote = '';
  for (let j = start + 1; j < src.length; j++) {
    const c = src[j];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return j + 1;
    }
  }
  return src.length;
}

function findOpen(stack: readonly { name: string }[], name: string): number {
  for (let k = stack.length - 1; k >= 0; k--) if (stack[k]!.name === name) return k;
  return -1;
}

function isBoilerplate(tagText: string): boolean {
  ATTR_RE.lastIndex = 0;
  for (let m = ATTR_RE.exec(tagText); m; m = ATTR_RE.exec(tagText)) {
    const value = m[1] ?? m[2] ?? m[3] ?? '';
    if (BOILERPLATE_ATTR.test(value.replace(/[-_]/g, ' '))) return true;
  }
  return false;
}
