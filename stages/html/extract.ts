import { Parser } from 'htmlparser2';

/**
 * Main-content extraction on htmlparser2's SAX parser (no DOM, streaming, ~30 MB/s per core). Drops
 * boilerplate by tag (nav, header, footer, aside, forms, scripts, styles...), by a class/id/role that names
 * boilerplate (menu, cookie, banner, sidebar...), and blocks whose text is mostly link text. Keeps
 * paragraphs, headings, list items and table rows as lines. Every limit is a count, never wall-clock time,
 * so a slow machine gives the same text as a fast one.
 */
export interface ExtractLimits {
  /** Characters of HTML looked at; the rest of the page is ignored. */
  readonly maxChars: number;
  /** Open elements tracked; deeper nesting is flattened. */
  readonly maxDepth: number;
  /** A block whose link text exceeds this share of its text (in 1/1000) is dropped as navigation. */
  readonly maxLinkDensityPermille?: number;
}

export interface Extracted {
  readonly title: string;
  readonly text: string;
}

const SKIP = new Set(['script', 'style', 'noscript', 'template', 'nav', 'header', 'footer', 'aside', 'form', 'button', 'select', 'option', 'svg', 'iframe', 'head', 'menu', 'dialog', 'textarea', 'object', 'canvas', 'math']);
const BLOCK = new Set([
  'p', 'div', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'tr', 'table', 'section',
  'article', 'main', 'blockquote', 'pre', 'figure', 'figcaption', 'address', 'details', 'summary', 'caption', 'tbody', 'thead', 'body', 'html',
]);
const CELL = new Set(['td', 'th']);
/** Elements whose class names say nothing about boilerplate (a body class of "has-header" keeps the page). */
const CONTAINER = new Set(['html', 'body', 'main', 'article']);
const BOILERPLATE_ATTR = /\b(?:nav|navbar|menu|breadcrumbs?|cookie|consent|banner|sidebar|footer|header|share|social|subscribe|newsletter|advert|ads?|promo|related|comments?)\b/i;
const SPACE = /[ \t\r\n\f\u00a0]+/g;

function isBoilerplate(attribs: Record<string, string>): boolean {
  for (const key of ['class', 'id', 'role']) {
    const value = attribs[key];
    if (value && BOILERPLATE_ATTR.test(value.replace(/[-_]/g, ' '))) return true;
  }
  return false;
}

export function extractText(html: string, limits: ExtractLimits): Extracted {
  const maxLink = limits.maxLinkDensityPermille ?? 500;
  const stack: { name: string; skip: boolean }[] = [];
  let skipDepth = 0;
  let inTitle = false;
  let linkDepth = 0;
  let title = '';
  const lines: string[] = [];
  let block = '';
  let linkChars = 0;

  const flush = () => {
    const text = block.replace(SPACE, ' ').trim();
    if (text) {
      const linkShare = (1000 * Math.min(linkChars, text.length)) / text.length;
      if (linkShare <= maxLink) lines.push(text);
    }
    block = '';
    linkChars = 0;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'title' && !title) inTitle = true;
        if (skipDepth === 0 && BLOCK.has(name)) flush();
        if (name === 'a') linkDepth++;
        const skip = SKIP.has(name) || (!CONTAINER.has(name) && isBoilerplate(attribs));
        if (stack.length < limits.maxDepth) {
          stack.push({ name, skip });
          if (skip) skipDepth++;
        }
      },
      ontext(data) {
        if (inTitle) {
          title += data;
          return;
        }
        if (skipDepth > 0) return;
        block += data;
        if (linkDepth > 0) linkChars += data.replace(SPACE, ' ').length;
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        if (name === 'a' && linkDepth > 0) linkDepth--;
        // htmlparser2 closes implied elements itself, so the top of the stack is the element closing.
        const top = stack[stack.length - 1];
        if (top && top.name === name) {
          stack.pop();
          if (top.skip) skipDepth--;
        }
        if (skipDepth === 0) {
          if (BLOCK.has(name)) flush();
          else if (CELL.has(name)) block += ' ';
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html.length > limits.maxChars ? html.slice(0, limits.maxChars) : html);
  flush();
  return { title: title.replace(SPACE, ' ').trim(), text: lines.join('\n') };
}
