import { decodeHTML, decodeHTMLAttribute, DecodingMode } from 'entities';
import { BlockBuffer } from './block.ts';
import { scanHtml, type OpenTag, type ScanSink } from './scan.ts';
import { BLOCK, CELL, CONTAINER, FOREIGN, INTEGRATION, SKIP, TAGS, VOID, type TagInfo } from './tags.ts';

/**
 * Main-content extraction on our own single-pass scanner (scan.ts: no DOM, no per-token objects). Drops
 * boilerplate by tag (nav, header, footer, aside, forms, scripts, styles...), by a class/id/role that names
 * boilerplate (menu, cookie, banner, sidebar...), and blocks whose text is mostly link text. Keeps
 * paragraphs, headings, list items and table rows as lines. Unclosed elements close as htmlparser2 closed
 * them (tags.ts), which html-text used until version 3. Every limit is a count, never wall-clock time, so a
 * slow machine gives the same text as a fast one.
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

/**
 * A class, id or role naming boilerplate. Hyphens and underscores separate words ("cookie-banner",
 * "site_footer"), so a keyword counts when no letter or digit touches it; "navigation" and "adsorb" do not count.
 */
const BOILERPLATE_ATTR = /(?<![a-z0-9])(?:nav|navbar|menu|breadcrumbs?|cookie|consent|banner|sidebar|footer|header|share|social|subscribe|newsletter|advert|ads?|promo|related|comments?)(?![a-z0-9])/i;
const SPACE = /[ \t\r\n\f\u00a0]+/g;

function boilerplateValue(value: string | undefined): boolean {
  if (!value) return false;
  const decoded = value.includes('&') ? decodeHTMLAttribute(value) : value;
  return BOILERPLATE_ATTR.test(decoded);
}

/** A mark on an open element (beside the tags.ts flags): its content is not kept. */
const SKIPPING = 1 << 16;

/** One buffer for every page: extraction is synchronous, and a fresh buffer per small page costs more than its scan. */
const BLOCK_TEXT = new BlockBuffer();

/**
 * The open-element stack and the text it lets through. One stack does both jobs htmlparser2's stack and
 * extract.ts's own did: which elements are open (for implied and mis-nested closes) and which of them skip.
 */
class TextSink implements ScanSink {
  private readonly names: string[] = [];
  /** Per open element: its tag flags, plus SKIPPING when it (and so everything inside) is left out. */
  private readonly marks: number[] = [];
  /** Foreign-content context per pushed svg/math (true) or integration point (false), innermost last. */
  private readonly foreign: boolean[] = [];
  /** Elements opened past maxDepth: not tracked, and the next close tags balance them. */
  private overflow = 0;
  private skipDepth = 0;
  private linkDepth = 0;
  private inTitle = false;
  title = '';
  readonly lines: string[] = [];
  private readonly block = BLOCK_TEXT;
  private linkChars = 0;
  /** The next '&' at or after the last text looked at, or html.length: decoding only runs that hold one. */
  private nextAmp = -1;

  constructor(
    private readonly html: string,
    private readonly maxDepth: number,
    private readonly maxLink: number,
  ) {
    this.block.reset();
  }

  inForeign(): boolean {
    const f = this.foreign;
    return f.length > 0 && f[f.length - 1]!;
  }

  private hasAmp(start: number, end: number): boolean {
    if (this.nextAmp < start) {
      const a = this.html.indexOf('&', start);
      this.nextAmp = a < 0 ? this.html.length : a;
    }
    return this.nextAmp < end;
  }

  private addText(start: number, end: number, decode: boolean): void {
    const html = this.html;
    if (this.inTitle) {
      const s = html.slice(start, end);
      this.title += decode && this.hasAmp(start, end) ? decodeHTML(s, DecodingMode.Legacy) : s;
      return;
    }
    if (this.skipDepth > 0) return;
    let n: number;
    if (decode && this.hasAmp(start, end)) {
      const s = decodeHTML(html.slice(start, end), DecodingMode.Legacy);
      n = this.block.append(s, 0, s.length);
    } else {
      n = this.block.append(html, start, end);
    }
    if (this.linkDepth > 0) this.linkChars += n;
  }

  text(start: number, end: number): void {
    this.addText(start, end, true);
  }

  rawText(start: number, end: number, rcdata: boolean): void {
    this.addText(start, end, rcdata);
  }

  flush(): void {
    if (!this.block.empty) {
      const text = this.block.take();
      if (text) {
        const linkShare = (1000 * Math.min(this.linkChars, text.length)) / text.length;
        if (linkShare <= this.maxLink) this.lines.push(text);
      }
    }
    this.linkChars = 0;
  }

  /** What an element's end does to the text, whether or not it was on the stack. */
  private ended(name: string, flags: number): void {
    if (name === 'title') this.inTitle = false;
    if (name === 'a' && this.linkDepth > 0) this.linkDepth--;
    if (this.skipDepth === 0) {
      if (flags & BLOCK) this.flush();
      else if (flags & CELL) this.block.space();
    }
  }

  private pop(): void {
    const name = this.names.pop()!;
    const flags = this.marks.pop()!;
    if (flags & SKIPPING) this.skipDepth--;
    if (flags & (FOREIGN | INTEGRATION)) this.foreign.pop();
    this.ended(name, flags);
  }

  /**
   * Skip and container tags ignore their class; inside skipped content nothing is kept whatever the class
   * says, unless the tag may close the skipped element first (a <p> after an unclosed <p class="share">).
   */
  wantsAttributes(info: TagInfo | undefined): boolean {
    if (info === undefined) return this.skipDepth === 0;
    return (info.flags & (SKIP | CONTAINER)) === 0 && (this.skipDepth === 0 || info.closes !== null);
  }

  openTag(tag: OpenTag): void {
    let { name, info } = tag;
    if (name === 'image' && !this.inForeign()) info = TAGS.get((name = 'img'));
    // A second <form> inside one is ignored, as the standard says.
    if (name === 'form' && this.names.includes('form')) return;
    const flags = info?.flags ?? 0;
    const closes = info?.closes;
    if (closes && this.overflow === 0) {
      while (this.names.length > 0 && closes.has(this.names[this.names.length - 1]!)) this.pop();
    }
    if (name === 'title' && !this.title) this.inTitle = true;
    if (this.skipDepth === 0 && flags & BLOCK) this.flush();
    if (name === 'a') this.linkDepth++;
    if (flags & VOID) return; // its close is a no-op: br and hr already flushed above
    if (this.names.length >= this.maxDepth) {
      this.overflow++;
      return;
    }
    const skip = (flags & SKIP) !== 0 || ((flags & CONTAINER) === 0 && (boilerplateValue(tag.cls) || boilerplateValue(tag.id) || boilerplateValue(tag.role)));
    this.names.push(name);
    this.marks.push(skip ? flags | SKIPPING : flags);
    if (skip) this.skipDepth++;
    if (flags & FOREIGN) this.foreign.push(true);
    else if (flags & INTEGRATION) this.foreign.push(false);
    // "<x/>" closes only in foreign content (as inside svg), judged after x itself is open.
    if (tag.selfClosing && this.inForeign() && this.names[this.names.length - 1] === name) this.pop();
  }

  closeTag(raw: string, rawInfo: TagInfo | undefined): void {
    let name = raw;
    let info = rawInfo;
    if (name === 'image' && !this.inForeign()) info = TAGS.get((name = 'img'));
    const flags = info?.flags ?? 0;
    if (flags & VOID) {
      // "</br>" is a line break; other void end tags are nothing.
      if (name === 'br' && this.skipDepth === 0) this.flush();
      return;
    }
    if (this.overflow > 0) {
      this.overflow--;
      this.ended(name, flags);
      return;
    }
    const pos = this.names.lastIndexOf(name);
    if (pos >= 0) {
      while (this.names.length > pos) this.pop();
    } else if (name === 'p' && this.skipDepth === 0) {
      this.flush(); // "</p>" with no <p> open is an empty paragraph
    }
  }

  /** The end of input closes everything still open, innermost first. */
  end(): void {
    while (this.names.length > 0) this.pop();
    this.flush();
  }
}

export function extractText(html: string, limits: ExtractLimits): Extracted {
  const page = html.length > limits.maxChars ? html.slice(0, limits.maxChars) : html;
  const sink = new TextSink(page, limits.maxDepth, limits.maxLinkDensityPermille ?? 500);
  scanHtml(page, sink);
  sink.end();
  return { title: sink.title.replace(SPACE, ' ').trim(), text: sink.lines.join('\n') };
}
