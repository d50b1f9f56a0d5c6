import t from 'tap';
import { applySelection, parseSelection, rangePastEnd, selectionFromFlag } from '../stages/lib/selection.ts';

t.test('ranges, strides, counts', async (t) => {
  t.same(applySelection(100, selectionFromFlag('0..4')), [0, 1, 2, 3, 4]);
  t.same(applySelection(100, selectionFromFlag('95..200,3,1..2')), [1, 2, 3, 95, 96, 97, 98, 99], 'clipped to the listing, sorted, no repeats');
  t.same(applySelection(100, selectionFromFlag('every=25')), [0, 25, 50, 75]);
  t.same(applySelection(100, selectionFromFlag('start=3,every=10,count=4')), [3, 13, 23, 33]);
  t.same(applySelection(100, selectionFromFlag('10..19,every=5')), [10, 15], 'stride over the candidates');
});

t.test('a seeded sample is reproducible, spread out, and moves with the seed', async (t) => {
  const a = applySelection(100_000, selectionFromFlag('sample=5,seed=7'));
  t.equal(a.length, 5);
  t.same(applySelection(100_000, selectionFromFlag('sample=5,seed=7')), a, 'same seed, same segments');
  t.not(applySelection(100_000, selectionFromFlag('sample=5,seed=8')).join(), a.join(), 'other seed, other segments');
  t.same([...a].sort((x, y) => x - y), a, 'in listing order');
  t.ok(a[4]! - a[0]! > 1000, 'not clustered at the start');
  t.same(applySelection(10, selectionFromFlag('sample=50,seed=x')), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

t.test('bad selections are refused with the field', async (t) => {
  t.throws(() => parseSelection({ sample: 3 }, 'source.params.select'), { message: /source\.params\.select\.seed: expected a seed string whenever sample is set/ });
  t.throws(() => selectionFromFlag('a..b'), { message: /--segments\.ranges\[0\]: expected a range such as "0\.\.9"/ });
  t.throws(() => parseSelection({ every: 0 }, 's'), { message: /s\.every: expected an integer from 1/ });
});

t.test('a range past the end of the listing is named, not clamped (clamping would change the key for the same data)', async (t) => {
  t.equal(rangePastEnd(8, selectionFromFlag('0..20')), 'the range "0..20" reaches past the last of the 8 listed (index 7); use "0..7"');
  t.equal(rangePastEnd(8, selectionFromFlag('9')), 'the range "9" reaches past the last of the 8 listed (index 7); use a range inside it');
  t.equal(rangePastEnd(8, selectionFromFlag('0..7,3')), undefined);
  t.equal(rangePastEnd(8, selectionFromFlag('every=3')), undefined);
});
