import t from 'tap';
import { Progress } from '../cli/progress.ts';

/** A fake TTY stream that records what the display writes. */
function tty() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

t.test('progress: overall tasks, bytes, ETA and waits; a line per running segment', async (t) => {
  const out = tty();
  const p = new Progress(out.stream);
  t.teardown(() => p.stop());
  const t0 = Date.now();
  p.onEvent({ type: 'run-plan', tasks: 10, segments: 4 });
  p.onEvent({ type: 'task-start', id: 'segment:0' });
  p.onEvent({ type: 'task-start', id: 'segment:1' });
  p.onEvent({ type: 'task-progress', id: 'segment:1', bytes: 8_000_000, records: 1200, kept: 300 });
  p.onEvent({ type: 'task-done', id: 'segment:0', key: `sha256:${'0'.repeat(64)}`, bytesIn: 2_000_000 });
  p.onEvent({ type: 'task-retry', id: 'segment:1', stage: 'http-fetch', attempt: 1, waitMs: 4000, reason: 'status 503' });
  const lines = p.render(t0 + 2_000);
  t.match(lines[0], /^reingest: 1 of 10 tasks done \(0 cached\), 1 running, 1 backing off \(status 503; \d s left\), 10\.0 MB streamed, 5\.0 MB\/s, ETA 6 s$/);
  t.equal(lines.length, 2);
  t.match(lines[1], /^ {2}segment:1 +8\.0 MB +4\.0 MB\/s +1200 records +600\/s +300 kept$/);
  p.onEvent({ type: 'task-done', id: 'segment:1', key: `sha256:${'0'.repeat(64)}`, bytesIn: 8_000_000 });
  t.equal(p.render(t0 + 10_000).length, 1, 'finished segments leave the display');
  p.stop();
  t.match(out.writes.at(-1), /\x1b\[J$/, 'stop clears what it drew');
});
