#!/usr/bin/python3
"""An independent check of a reingest manifest, written from docs/manifest.md alone (standard library only).

  verify_manifest.py MANIFEST.json

Recomputes every task key from the pipeline's keyParams and the task's inputs, and the root from the
tasks; checks that each task's inputs are the outputs of the tasks it depends on. Prints one JSON object:
{"root": ..., "rootOk": bool, "keysChecked": n, "keyMismatches": [...], "linkMismatches": [...]}.
Exit status: 0 consistent, 1 a key, an input link or the root does not match, 2 usage.
"""
import hashlib
import json
import sys


def canonical(value):
    """Canonical JSON: keys sorted by code point (= UTF-8 byte order), no spaces, integers only."""
    if isinstance(value, float):
        raise ValueError("floats are not canonical")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def merkle(leaves):
    """RFC 6962: leaf H(0x00 || bytes), node H(0x01 || left || right), split at the largest power of two < n."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + merkle(leaves[:k]) + merkle(leaves[k:])).digest()


def identity(step):
    return {"name": step["stage"], "version": step["version"], "params": step["keyParams"]}


def key(kind, stages, inputs, select=None):
    pre = {"v": "reingest/key/1", "kind": kind, "stages": stages, "inputs": inputs}
    if select is not None:
        pre["select"] = select
    return sha256(canonical(pre).encode("utf-8"))


def main(path):
    m = json.load(open(path, encoding="utf-8"))
    p = m["pipeline"]
    tasks = {t["id"]: t for t in m["tasks"]}
    key_bad, link_bad = [], []

    def check(task_id, kind, stages, inputs, select=None):
        """The task's key must be the hash of its preimage, and its recorded inputs the ones we derived."""
        if tasks[task_id]["key"] != key(kind, stages, inputs, select):
            key_bad.append(task_id)
        if tasks[task_id]["inputs"] != inputs:
            link_bad.append(task_id)

    listing = m["inputs"]["listing"]["sha256"]
    check("list", "list", [identity(p["source"])], [])
    segments = m["inputs"]["segments"]
    current = []
    for s in segments:
        i = s["index"]
        check(f"fetch:{i}", "fetch", [identity(p["segment"][0])], [listing], s["path"])
        if tasks[f"fetch:{i}"]["output"]["digest"] != s["sha256"]:
            link_bad.append(f"fetch:{i}")
        check(f"segment:{i}", "chain", [identity(x) for x in p["segment"][1:]], [s["sha256"]])
        current.append(tasks[f"segment:{i}"]["output"]["digest"])
    for g, step in enumerate(p.get("global", [])):
        # A summarizing step (dedup) has one summary task per segment; its plan reads those instead.
        plan_inputs = current
        if any(f"summary:{g}:{s['index']}" in tasks for s in segments):
            plan_inputs = []
            for s, inp in zip(segments, current):
                tid = f"summary:{g}:{s['index']}"
                check(tid, "global-summary", [identity(step)], [inp])
                plan_inputs.append(tasks[tid]["output"]["digest"])
        check(f"global:{g}", "global-plan", [identity(step)], plan_inputs)
        plan = tasks[f"global:{g}"]["output"]["digest"]
        nxt = []
        for s, inp in zip(segments, current):
            tid = f"apply:{g}:{s['index']}"
            check(tid, "global-apply", [identity(step)], [inp, plan])
            nxt.append(tasks[tid]["output"]["digest"])
        current = nxt
    for a, step in enumerate(p["aggregate"]):
        check(f"aggregate:{a}", "aggregate", [identity(step)], current)

    leaves = [canonical({"kind": t["kind"], "key": t["key"], "output": t["output"]["digest"]}).encode("utf-8") for t in m["tasks"]]
    root = "sha256:" + merkle(leaves).hex()
    ok = root == m["root"] and not key_bad and not link_bad
    print(json.dumps({"root": root, "rootOk": root == m["root"], "keysChecked": len(m["tasks"]), "keyMismatches": key_bad, "linkMismatches": link_bad}))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    sys.exit(main(sys.argv[1]))
