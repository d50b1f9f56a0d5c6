import t from 'tap';
// @ts-expect-error: plain JavaScript run before the sources load (bin/reingest.mjs), without types
import { satisfies, unsupportedNode } from '../bin/node-check.mjs';

t.test("the bin's Node check reads package.json's engines range as npm would", async (t) => {
  const range = '^20.19.0 || >=22.2.0';
  const cases: [string, boolean][] = [
    ['18.20.0', false], ['20.12.0', false], ['20.18.9', false], ['20.19.0', true], ['20.20.2', true],
    ['21.7.3', false], ['22.1.0', false], ['22.2.0', true], ['22.23.5', true], ['24.0.0', true],
  ];
  for (const [v, ok] of cases) t.equal(satisfies(v, range), ok, `${v}: ${ok ? 'supported' : 'refused'}`);
  t.equal(unsupportedNode(process.versions.node), null, 'the Node running the tests is supported');
  t.equal(unsupportedNode('20.12.0'), range, 'an old Node is told the range');
  t.throws(() => satisfies('20.19.0', '~20.19'), /expected "\^X.Y.Z" or ">=X.Y.Z" alternatives/);
});
