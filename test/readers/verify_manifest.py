#!/usr/bin/python3
"""An independent check of reingest manifests, written from docs/manifest.md alone (standard library only).

  verify_manifest.py [--out DIR] [--cache DIR] MANIFEST.json...
  verify_manifest.py --lines < MANIFESTS.jsonl
  verify_manifest.py --encode VALUE.json

For each manifest, from the manifest alone: recomputes the root from its leaves, every task key from the
pipeline's keyParams and the inputs the task graph gives (summaries and each apply's own drop list
included), each task's recorded inputs, keyParams from params for the shipped stages, the edges' shape
and counts (record counts against drop counters), and outputs[] against the aggregates' outputs (a files
index rebuilt from outputs[] must hash to the aggregate's output).
  --out DIR    also hashes the files under DIR (gunzipped where outputs[] says gzip) against outputs[].
  --cache DIR  also reads reingest's cache (objects/sha256/<2 hex>/<64 hex>): every object a task names
               must hash to its name; record streams are decoded (frames, the record encoding) and checked
               against records, recordsRoot and recordIndex; and what can be recomputed from stored inputs
               is: dedup's summaries, plan and drop lists, each apply, text.jsonl, token shards.
Prints one JSON line per manifest ({"file", "ok", "root", "rootOk", "keysChecked", "keyMismatches",
"linkMismatches", "outputsOk", ...}; {"file", "ok": false, "error"} when it cannot be read).
Exit status: 0 every manifest checks out, 1 some check failed or a manifest is unreadable, 2 usage.

--lines reads manifests from standard input, one JSON document per line (many manifests, one process), and
names each by its line number.
--encode prints the canonical JSON and, when VALUE is an object, the record frame of one JSON value, for
comparing this encoder with another.
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import struct
import sys
import unicodedata

MAX_SAFE = 2**53 - 1
EMPTY = "sha256:" + hashlib.sha256(b"").hexdigest()


class Unreadable(Exception):
    """The manifest is not JSON, or lacks a field the checks need."""


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- canonical JSON (docs/manifest.md §1) ----

ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def json_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch in ESCAPES:
            out.append(ESCAPES[ch])
        elif c < 0x20 or 0xD800 <= c <= 0xDFFF:
            out.append("\\u%04x" % c)  # control characters and lone surrogates, lowercase hex
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(value):
    """Keys by code point (a lone surrogate counts as its own value), safe integers only, no spaces."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > MAX_SAFE:
            raise ValueError("integer %d is outside the safe range" % value)
        return str(value)
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(json_string(k) + ":" + canonical(value[k]) for k in sorted(value)) + "}"
    raise ValueError("canonical JSON has no %s" % type(value).__name__)


def canonical_bytes(value):
    return canonical(value).encode("utf-8")


# ---- the record encoding and frames (§3) ----

def utf8(s):
    """UTF-8, a lone surrogate written as U+FFFD (EF BF BD), as the record encoder does."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s).encode("utf-8")


def encode_value(v, out):
    if v is None:
        out.append(0)
    elif v is False:
        out.append(1)
    elif v is True:
        out.append(2)
    elif isinstance(v, int):
        if abs(v) > MAX_SAFE:
            raise ValueError("integer %d is outside the safe range" % v)
        out.append(3)
        out += struct.pack(">q", v)
    elif isinstance(v, str):
        b = utf8(v)
        out.append(4)
        out += struct.pack(">I", len(b)) + b
    elif isinstance(v, (bytes, bytearray)):
        out.append(5)
        out += struct.pack(">I", len(v)) + bytes(v)
    elif isinstance(v, (list, tuple)):
        out.append(6)
        out += struct.pack(">I", len(v))
        for x in v:
            encode_value(x, out)
    elif isinstance(v, dict):
        out.append(7)
        out += struct.pack(">I", len(v))
        for k in sorted(v):  # code point order; a map key has no tag byte
            b = utf8(k)
            out += struct.pack(">I", len(b)) + b
            encode_value(v[k], out)
    else:
        raise ValueError("a record has no %s" % type(v).__name__)


def frame(record):
    body = bytearray()
    encode_value(record, body)
    return struct.pack(">I", len(body)) + bytes(body)


def decode_value(buf, pos):
    tag = buf[pos]
    pos += 1
    if tag == 0:
        return None, pos
    if tag == 1:
        return False, pos
    if tag == 2:
        return True, pos
    if tag == 3:
        return struct.unpack_from(">q", buf, pos)[0], pos + 8
    if tag in (4, 5):
        (n,) = struct.unpack_from(">I", buf, pos)
        raw = bytes(buf[pos + 4:pos + 4 + n])
        if len(raw) != n:
            raise ValueError("truncated")
        return (raw.decode("utf-8") if tag == 4 else raw), pos + 4 + n
    if tag == 6:
        (n,) = struct.unpack_from(">I", buf, pos)
        pos += 4
        items = []
        for _ in range(n):
            x, pos = decode_value(buf, pos)
            items.append(x)
        return items, pos
    if tag == 7:
        (n,) = struct.unpack_from(">I", buf, pos)
        pos += 4
        m = {}
        for _ in range(n):
            (k,) = struct.unpack_from(">I", buf, pos)
            key = bytes(buf[pos + 4:pos + 4 + k]).decode("utf-8")
            pos += 4 + k
            m[key], pos = decode_value(buf, pos)
        return m, pos
    raise ValueError("unknown tag %d at byte %d" % (tag, pos - 1))


def split_frames(data):
    """The frames of a record stream (each with its u32 length prefix); raises on a torn stream."""
    frames, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise ValueError("stream ends inside a frame length at byte %d" % pos)
        (n,) = struct.unpack_from(">I", data, pos)
        if pos + 4 + n > len(data):
            raise ValueError("stream ends inside a frame at byte %d" % pos)
        frames.append(data[pos:pos + 4 + n])
        pos += 4 + n
    return frames


def decode_frame(fr):
    value, pos = decode_value(fr, 4)
    if pos != len(fr) or not isinstance(value, dict):
        raise ValueError("a frame is not one map")
    return value


# ---- Merkle trees (§4) ----

def leaf_hash(data):
    h = hashlib.sha256(b"\x00")
    h.update(data)
    return h.digest()


def merkle_of_leaf_hashes(leaves):
    """RFC 6962: node H(0x01 || left || right), the left subtree the largest power of two below n."""
    stack = []  # (hash, size) of perfect subtrees, largest first
    for h in leaves:
        size = 1
        while stack and stack[-1][1] == size:
            left, _ = stack.pop()
            h = hashlib.sha256(b"\x01" + left + h).digest()
            size *= 2
        stack.append((h, size))
    if not stack:
        return EMPTY
    h = stack.pop()[0]
    while stack:
        h = hashlib.sha256(b"\x01" + stack.pop()[0] + h).digest()
    return "sha256:" + h.hex()


def merkle(leaf_bytes):
    return merkle_of_leaf_hashes([leaf_hash(b) for b in leaf_bytes])


# ---- keys, params (§2) ----

def identity(step):
    return {"name": step["stage"], "version": step["version"], "params": step["keyParams"]}


def task_key(kind, stages, inputs, select=None):
    pre = {"v": "reingest/key/1", "kind": kind, "stages": stages, "inputs": inputs}
    if select is not None:
        pre["select"] = select
    return sha256(canonical_bytes(pre))


def pick(p, names):
    return {k: p[k] for k in names if k in p}


# keyParams of the shipped stages, from their params; every other shipped stage keys all its params.
KEY_PARAMS = {
    ("cc-path-list", "2"): lambda p: pick(p, ["pathList", "select"]),
    ("zip-entries", "1"): lambda p: pick(p, ["zip", "include", "select"]),
    ("http-fetch", "1"): lambda p: {},
    ("zip-entry", "1"): lambda p: {},
    ("tokenize", "2"): lambda p: dict(pick(p, ["encoding", "field", "endOfDocument"]), ranks=p["ranks"]["sha256"]),
    ("dedup", "4"): lambda p: pick(p, ["exact", "url", "minhash"]),
}
ALL_PARAMS = {("warc-records", "2"), ("html-text", "4"), ("length-filter", "1"), ("lang-id", "2"), ("gopher-quality", "2"),
              ("gopher-repetition", "2"), ("c4-quality", "2"), ("fineweb-quality", "2"), ("pii", "1"), ("jsonl", "1"), ("token-shards", "1")}
# Transform stages that pass each record on or drop it (counted once): records out = records in - drops.
FILTERS = {"html-text", "length-filter", "lang-id", "gopher-quality", "gopher-repetition", "c4-quality", "fineweb-quality", "pii", "tokenize"}
VOCAB = {"cl100k_base": 100277, "o200k_base": 200019, "r50k_base": 50257, "gpt2": 50257}


def derived_key_params(step):
    sid = (step["stage"], step["version"])
    if sid in KEY_PARAMS:
        return KEY_PARAMS[sid](step["params"])
    if sid in ALL_PARAMS:
        return step["params"]
    return None


# ---- the manifest ----

def need(obj, field, where, kind):
    if not isinstance(obj, dict) or field not in obj:
        raise Unreadable("%s: expected a field %s" % (where, field))
    v = obj[field]
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise Unreadable("%s.%s: expected %s, got %s" % (where, field, getattr(kind, "__name__", "a value"), type(v).__name__))
    return v


def shape(m):
    """The fields the checks read, with their types; anything else is the root's business."""
    if not isinstance(m, dict):
        raise Unreadable("expected a JSON object")
    if m.get("schema") != "reingest-manifest/2":
        raise Unreadable('schema: expected "reingest-manifest/2", got %s' % json.dumps(m.get("schema")))
    for f, k in (("pipeline", dict), ("inputs", dict), ("tasks", list), ("outputs", list), ("root", str)):
        need(m, f, "manifest", k)
    p = m["pipeline"]
    need(p, "name", "pipeline", str)
    steps = [("pipeline.source", need(p, "source", "pipeline", dict))]
    for part in ("segment", "global", "aggregate"):
        steps += [("pipeline.%s[%d]" % (part, i), s) for i, s in enumerate(need(p, part, "pipeline", list))]
    if len(p["segment"]) < 2:
        raise Unreadable("pipeline.segment: expected a fetch step, a decode step and transforms")
    for where, s in steps:
        need(s, "stage", where, str)
        need(s, "version", where, str)
        need(s, "params", where, object)
        need(s, "keyParams", where, object)
        if where.startswith("pipeline.aggregate"):
            need(s, "output", where, str)
    listing = need(m["inputs"], "listing", "inputs", dict)
    for f, k in (("path", str), ("size", int), ("sha256", str)):
        need(listing, f, "inputs.listing", k)
    for i, s in enumerate(need(m["inputs"], "segments", "inputs", list)):
        for f, k in (("index", int), ("path", str), ("size", int), ("sha256", str)):
            need(s, f, "inputs.segments[%d]" % i, k)
    for i, t in enumerate(m["tasks"]):
        where = "tasks[%d]" % i
        for f, k in (("id", str), ("kind", str), ("key", str), ("inputs", list), ("edges", list), ("output", dict)):
            need(t, f, where, k)
        for j, e in enumerate(t["edges"] + [t["output"]]):
            w = "%s.edges[%d]" % (where, j) if j < len(t["edges"]) else where + ".output"
            for f, k in (("stage", str), ("digest", str), ("bytes", int), ("stored", bool)):
                need(e, f, w, k)
    for i, o in enumerate(m["outputs"]):
        for f, k in (("file", str), ("digest", str), ("size", int)):
            need(o, f, "outputs[%d]" % i, k)


def manifest_leaves(m):
    return ([canonical_bytes({"part": "recipe", "schema": m["schema"], "pipeline": m["pipeline"]}),
             canonical_bytes({"part": "listing", "listing": m["inputs"]["listing"]})]
            + [canonical_bytes({"part": "segment", "segment": s}) for s in m["inputs"]["segments"]]
            + [canonical_bytes({"part": "task", "task": t}) for t in m["tasks"]]
            + [canonical_bytes({"part": "output", "output": o}) for o in m["outputs"]])


def files_index_bytes(entries):
    return (canonical({"schema": "reingest-files/1", "files": entries}) + "\n").encode("utf-8")


def index_entry_of(output, o):
    base = o["file"][len(output) + 1:]
    name = base[:-3] if o.get("compression") == "gzip" and base.endswith(".gz") else base
    e = {"name": name, "digest": o["digest"], "size": o["size"], "facts": o.get("facts", {})}
    if "compression" in o:
        e["compress"] = o["compression"]
    return e


def drops_sum(e):
    return sum((e.get("counters") or {}).get("drops", {}).values())


class Checker:
    def __init__(self, m, out_dir, cache_dir):
        self.m, self.out_dir, self.cache_dir = m, out_dir, cache_dir
        self.p = m["pipeline"]
        self.segs = m["inputs"]["segments"]
        self.tasks = {}
        self.keys_checked = 0
        self.key_bad, self.link_bad = [], []
        self.problems = {k: [] for k in ("structure", "params", "edges", "counts", "outputs", "files", "objects")}
        self.files_checked = self.objects_checked = 0
        self.replayed = []
        self.objects = {}

    def note(self, kind, msg):
        self.problems[kind].append(msg)

    # -- the task graph --

    def expected_ids(self):
        ids = ["list"]
        for s in self.segs:
            ids += ["fetch:%d" % s["index"], "segment:%d" % s["index"]]
        for g in range(len(self.p["global"])):
            if self.summarizes(g):
                ids += ["summary:%d:%d" % (g, s["index"]) for s in self.segs]
            ids += ["global:%d" % g] + ["apply:%d:%d" % (g, s["index"]) for s in self.segs]
        return ids + ["aggregate:%d" % a for a in range(len(self.p["aggregate"]))]

    def summarizes(self, g):
        return any("summary:%d:%d" % (g, s["index"]) in self.tasks for s in self.segs)

    def graph(self):
        # Fields outside the leaves would not be committed by the root: a manifest has none.
        extra = sorted(set(self.m) - {"schema", "pipeline", "inputs", "tasks", "outputs", "root"}) + ["inputs." + k for k in sorted(set(self.m["inputs"]) - {"listing", "segments"})]
        if extra:
            self.note("structure", "fields the root does not commit to: %s" % ", ".join(extra))
        for t in self.m["tasks"]:
            if t["id"] in self.tasks:
                self.note("structure", "task %s appears twice" % t["id"])
            self.tasks[t["id"]] = t
        got = [t["id"] for t in self.m["tasks"]]
        want = self.expected_ids()
        if got != want:
            k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            self.note("structure", "tasks[%d]: expected %s, got %s" % (k, want[k] if k < len(want) else "no more tasks", got[k] if k < len(got) else "none"))

    def check(self, tid, kind, stages, inputs, select=None, segment=None):
        """The task's key must be the hash of its preimage, and its recorded inputs the ones derived."""
        t = self.tasks.get(tid)
        if t is None:
            return None
        if t["kind"] != kind:
            self.note("structure", "task %s: expected kind %s, got %s" % (tid, kind, t["kind"]))
        if t.get("segment") != segment:
            self.note("structure", "task %s: expected segment %s, got %s" % (tid, json.dumps(segment), json.dumps(t.get("segment"))))
        if None not in inputs:
            self.keys_checked += 1
            if t["key"] != task_key(kind, stages, inputs, select):
                self.key_bad.append(tid)
            if t["inputs"] != inputs:
                self.link_bad.append(tid)
        return t

    def keys(self):
        p, listing = self.p, self.m["inputs"]["listing"]
        self.check("list", "list", [identity(p["source"])], [])
        fetch_id, chain_ids = [identity(p["segment"][0])], [identity(s) for s in p["segment"][1:]]
        current, records = [], []
        for s in self.segs:
            i, ref = s["index"], {"index": s["index"], "path": s["path"]}
            f = self.check("fetch:%d" % i, "fetch", fetch_id, [listing["sha256"]], s["path"], ref)
            if f is not None and (f["output"]["digest"] != s["sha256"] or f["output"]["bytes"] != s["size"]):
                self.link_bad.append("fetch:%d" % i)
            c = self.check("segment:%d" % i, "chain", chain_ids, [s["sha256"]], segment=ref)
            current.append(c["output"]["digest"] if c else None)
            records.append(c["output"].get("records") if c else None)
        self.final = []
        for g, step in enumerate(p["global"]):
            ident = [identity(step)]
            plan_inputs, plan_records = current, records
            if self.summarizes(g):
                plan_inputs, plan_records = [], []
                for s, inp in zip(self.segs, current):
                    ref = {"index": s["index"], "path": s["path"]}
                    t = self.check("summary:%d:%d" % (g, s["index"]), "global-summary", ident, [inp], segment=ref)
                    plan_inputs.append(t["output"]["digest"] if t else None)
                    plan_records.append(t["output"].get("records") if t else None)
                    if t is not None:
                        self.edges_of_stored_records(t, step["stage"], records[len(plan_records) - 1])
            plan = self.check("global:%d" % g, "global-plan", ident, plan_inputs)
            drop_edges = self.plan_edges(g, step, plan, plan_records) if plan else {}
            nxt, nrec = [], []
            for s, inp, n in zip(self.segs, current, records):
                i, ref = s["index"], {"index": s["index"], "path": s["path"]}
                drops = drop_edges.get(i)
                t = self.check("apply:%d:%d" % (g, i), "global-apply", ident, [inp, drops["digest"] if drops else EMPTY] if plan else [inp, None], segment=ref)
                nxt.append(t["output"]["digest"] if t else None)
                nrec.append(t["output"].get("records") if t else None)
                if t is not None:
                    self.apply_edges(t, step, n, drops)
            current, records = nxt, nrec
        for a, step in enumerate(p["aggregate"]):
            self.check("aggregate:%d" % a, "aggregate", [identity(step)], current)
        self.current, self.current_records = current, records

    # -- edges and counts, from the manifest alone --

    def edges(self):
        p, listing = self.p, self.m["inputs"]["listing"]
        for t in self.m["tasks"]:
            tid, es, out = t["id"], t["edges"], t["output"]
            if not es:
                self.note("edges", "task %s: no edges" % tid)
                continue
            last = es[-1]
            if out != last and (t["kind"] not in ("list", "fetch") or out != {k: v for k, v in last.items() if k != "counters"}):
                self.note("edges", "task %s: output is not its last edge" % tid)
            for j, e in enumerate(es):
                where = "task %s edge %d (%s)" % (tid, j, e["stage"])
                if "recordsRoot" in e:
                    if not e["stored"] and e["digest"] != e["recordsRoot"]:
                        self.note("edges", "%s: a record edge that is not stored is named by its recordsRoot %s, got %s" % (where, e["recordsRoot"], e["digest"]))
                    if e.get("records") == 0 and (e["recordsRoot"] != EMPTY or e["bytes"] != 0):
                        self.note("edges", "%s: no records, so recordsRoot %s and 0 bytes" % (where, EMPTY))
                if e["stored"] and e["bytes"] == 0 and e["digest"] != EMPTY:
                    self.note("edges", "%s: 0 bytes hash to %s" % (where, EMPTY))
        lt = self.tasks.get("list")
        if lt:
            want = {"stage": p["source"]["stage"], "digest": listing["sha256"], "bytes": listing["size"], "stored": False}
            if len(lt["edges"]) != 2 or lt["edges"][0] != want or not lt["edges"][1]["stored"] or lt["edges"][1].get("records") != len(self.segs):
                self.note("edges", "task list: expected the listing's byte edge %s then the stored selection of %d segments" % (json.dumps(want), len(self.segs)))
        for a in range(len(p["aggregate"])):
            t = self.tasks.get("aggregate:%d" % a)
            if t and not all(e["stored"] and "records" not in e for e in t["edges"]):
                self.note("edges", "task aggregate:%d: expected stored byte edges only" % a)
        for s in self.segs:
            f = self.tasks.get("fetch:%d" % s["index"])
            if f and (len(f["edges"]) != 1 or f["edges"][0]["stored"] or f["edges"][0]["stage"] != p["segment"][0]["stage"] or "records" in f["edges"][0]):
                self.note("edges", "task fetch:%d: expected one byte edge of stage %s, not stored" % (s["index"], p["segment"][0]["stage"]))
            c = self.tasks.get("segment:%d" % s["index"])
            if c:
                self.chain_edges(c)

    def chain_edges(self, c):
        es, steps = c["edges"], self.p["segment"][1:]
        if [e["stage"] for e in es] != [s["stage"] for s in steps]:
            self.note("edges", "task %s: expected edges of stages %s, got %s" % (c["id"], [s["stage"] for s in steps], [e["stage"] for e in es]))
            return
        for j, e in enumerate(es):
            if e["stored"] != (j == len(es) - 1) or "recordsRoot" not in e or "recordIndex" not in e or "records" not in e:
                self.note("edges", "task %s edge %d (%s): expected a record edge with recordsRoot and recordIndex, stored only if last" % (c["id"], j, e["stage"]))
            if j > 0 and e["stage"] in FILTERS and "records" in e and "records" in es[j - 1]:
                if es[j - 1]["records"] - drops_sum(e) != e["records"]:
                    self.note("counts", "task %s edge %d (%s): %d records in, %d dropped, so %d out; the edge says %d" % (
                        c["id"], j, e["stage"], es[j - 1]["records"], drops_sum(e), es[j - 1]["records"] - drops_sum(e), e["records"]))

    def edges_of_stored_records(self, t, stage, input_records):
        """A summary: one stored record edge of the step's stage, one record per input record."""
        e = t["edges"][-1]
        if len(t["edges"]) != 1 or e["stage"] != stage or not e["stored"] or "recordsRoot" not in e:
            self.note("edges", "task %s: expected one stored record edge of stage %s" % (t["id"], stage))
        if input_records is not None and e.get("records") != input_records:
            self.note("counts", "task %s: %s records for %s input records" % (t["id"], e.get("records"), input_records))

    def plan_edges(self, g, step, plan, plan_records):
        """The plan's drop lists (one edge per losing segment, in list order), then the plan object."""
        stage, es = step["stage"], plan["edges"]
        order = [s["index"] for s in self.segs]
        drops, seen = {}, []
        for e in es[:-1]:
            prefix = stage + ":drops:"
            i = e["stage"][len(prefix):]
            if not e["stage"].startswith(prefix) or not i.isdigit() or int(i) not in order or not e["stored"] or not e.get("records"):
                self.note("edges", "task %s: edge %s is not a drop list %s<segment index> (stored, with records)" % (plan["id"], e["stage"], prefix))
                continue
            drops[int(i)] = e
            seen.append(order.index(int(i)))
        if seen != sorted(set(seen)):
            self.note("edges", "task %s: drop lists are not in list order, each once" % plan["id"])
        out = es[-1]
        if out["stage"] != stage or not out["stored"] or out.get("records") != len(drops):
            self.note("edges", "task %s: expected the plan object (stage %s, %d records, one per drop list) last" % (plan["id"], stage, len(drops)))
        if step["stage"] == "dedup" and None not in plan_records:
            docs = (out.get("counters") or {}).get("counts", {}).get("documents")
            if docs != sum(plan_records):
                self.note("counts", "task %s: counts.documents %s, but its summaries hold %d records" % (plan["id"], docs, sum(plan_records)))
        return drops

    def apply_edges(self, t, step, input_records, drops):
        e = t["edges"][-1]
        if len(t["edges"]) != 1 or e["stage"] != step["stage"] or not e["stored"] or "recordsRoot" not in e:
            self.note("edges", "task %s: expected one stored record edge of stage %s" % (t["id"], step["stage"]))
        n = drops["records"] if drops else 0
        if drops_sum(e) != n:
            self.note("counts", "task %s: counters.drops sum to %d, its drop list holds %d" % (t["id"], drops_sum(e), n))
        if input_records is not None and e.get("records") != input_records - n:
            self.note("counts", "task %s: %d records in, %d dropped, so %d out; the edge says %s" % (t["id"], input_records, n, input_records - n, e.get("records")))
        if ("exclusions" in e) != (n > 0):
            self.note("edges", "task %s: exclusions expected %s" % (t["id"], "with the drops" if n else "only when something is dropped"))

    def params(self):
        p = self.p
        steps = [("pipeline.source", p["source"])] + [("pipeline.%s[%d]" % (part, i), s) for part in ("segment", "global", "aggregate") for i, s in enumerate(p[part])]
        for where, s in steps:
            try:
                derived = derived_key_params(s)
            except (KeyError, TypeError):
                derived = "(params lack a field its keyParams need)"
            if derived is not None and canonical(derived) != canonical(s["keyParams"]):
                self.note("params", "%s (%s): keyParams %s, but its params give %s" % (where, s["stage"], canonical(s["keyParams"]), canonical(derived) if not isinstance(derived, str) else derived))
        src, listing = p["source"]["params"], self.m["inputs"]["listing"]
        if isinstance(src, dict):
            if "sha256" in src and src["sha256"] != listing["sha256"]:
                self.note("params", "pipeline.source.params.sha256 pins %s, the listing is %s" % (src["sha256"], listing["sha256"]))
            path = src.get("pathList", src.get("zip"))
            if path is not None and path != listing["path"]:
                self.note("params", "pipeline.source.params names %s, the listing is %s" % (path, listing["path"]))

    # -- outputs[] against the aggregates --

    def outputs(self):
        outs, at = self.m["outputs"], 0
        for a, step in enumerate(self.p["aggregate"]):
            t, name = self.tasks.get("aggregate:%d" % a), step["output"]
            mine = []
            while at < len(outs) and (outs[at]["file"] == name or outs[at]["file"].startswith(name + "/")):
                mine.append(outs[at])
                at += 1
            if t is None:
                continue
            if len(mine) == 1 and mine[0]["file"] == name:
                o = mine[0]
                if o["digest"] != t["output"]["digest"] or o["size"] != t["output"]["bytes"] or "compression" in o:
                    self.note("outputs", "%s: expected digest %s and size %d, the output of aggregate:%d" % (name, t["output"]["digest"], t["output"]["bytes"], a))
                continue
            entries = [index_entry_of(name, o) for o in mine]
            found = sha256(files_index_bytes(entries))
            if found != t["output"]["digest"]:
                self.note("outputs", "%s/: %d files whose index hashes to %s, not aggregate:%d's output %s" % (name, len(mine), found, a, t["output"]["digest"]))
            by_stage = {e["stage"]: e for e in t["edges"][:-1]}
            for en in entries:
                e = by_stage.get("%s:%s" % (step["stage"], en["name"]))
                if e is None or e["digest"] != en["digest"] or e["bytes"] != en["size"]:
                    self.note("outputs", "%s/%s: no edge %s:%s of aggregate:%d with its digest and size" % (name, en["name"], step["stage"], en["name"], a))
            if len(by_stage) != len(entries):
                self.note("outputs", "%s/: aggregate:%d has %d file edges, outputs[] %d files" % (name, a, len(by_stage), len(entries)))
            self.shard_counts(a, step, t, mine)
        if at != len(outs):
            self.note("outputs", "outputs[%d] (%s) belongs to no aggregate, in pipeline order" % (at, outs[at]["file"]))

    def shard_counts(self, a, step, t, files):
        if (step["stage"], step["version"]) != ("token-shards", "1"):
            return
        counts = (t["output"].get("counters") or {}).get("counts", {})
        shards = {}
        for o in files:
            shards[o["file"].split("/")[-1].split(".")[0]] = o.get("facts", {})
        want = {"documents": sum(f.get("documents", 0) for f in shards.values()), "tokens": sum(f.get("tokens", 0) for f in shards.values()), "shards": len(shards)}
        if None not in self.current_records and want["documents"] != sum(self.current_records):
            self.note("counts", "aggregate:%d: its shards hold %d documents, the segments %d" % (a, want["documents"], sum(self.current_records)))
        if counts != want:
            self.note("counts", "aggregate:%d: counters %s, its shards' facts give %s" % (a, canonical(counts), canonical(want)))

    # -- files under --out --

    def out_files(self):
        listed = set()
        for o in self.m["outputs"]:
            path = os.path.join(self.out_dir, *o["file"].split("/"))
            listed.add(os.path.normpath(path))
            self.files_checked += 1
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
                if o.get("compression") == "gzip":
                    data = gzip.decompress(data)
            except (OSError, EOFError, gzip.BadGzipFile) as err:
                self.note("files", "%s: cannot read it (%s)" % (o["file"], err))
                continue
            if sha256(data) != o["digest"] or len(data) != o["size"]:
                self.note("files", "%s: %s (%d bytes), outputs[] says %s (%d bytes)" % (o["file"], sha256(data), len(data), o["digest"], o["size"]))
        for step in self.p["aggregate"]:
            folder = os.path.join(self.out_dir, step["output"])
            if os.path.isdir(folder):
                for name in sorted(os.listdir(folder)):
                    if os.path.normpath(os.path.join(folder, name)) not in listed:
                        self.note("files", "%s/%s: not in outputs[]" % (step["output"], name))

    # -- the cache --

    def obj(self, digest, why):
        """A cache object's bytes, checked against its name; None (and a problem) when missing or corrupt."""
        if digest in self.objects:
            return self.objects[digest]
        hexd = digest[len("sha256:"):]
        path = os.path.join(self.cache_dir, "objects", "sha256", hexd[:2], hexd)
        data = None
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            self.objects_checked += 1
            if sha256(data) != digest:
                self.note("objects", "%s: object %s hashes to %s" % (why, digest, sha256(data)))
                data = None
        except OSError:
            self.note("objects", "%s: object %s is not in the cache" % (why, digest))
        self.objects[digest] = data
        return data

    def frames_of(self, digest, why):
        data = self.obj(digest, why)
        if data is None:
            return None
        try:
            frames = split_frames(data)
            records = [decode_frame(f) for f in frames]
        except (ValueError, struct.error, IndexError, UnicodeDecodeError) as err:
            self.note("objects", "%s: object %s is not a record stream (%s)" % (why, digest, err))
            return None
        for k, (f, r) in enumerate(zip(frames, records)):
            try:
                canonical_frame = frame(r)
            except ValueError as err:
                canonical_frame = str(err)
            if canonical_frame != f:
                self.note("objects", "%s: record %d of %s is not in the canonical encoding" % (why, k, digest))
                break
        return frames, records

    def cache(self):
        for t in self.m["tasks"]:
            for j, e in enumerate(t["edges"]):
                self.cached_edge(t, j, e)
        self.cached_list()
        for g, step in enumerate(self.p["global"]):
            if (step["stage"], step["version"]) == ("dedup", "4"):
                self.replay_dedup(g, step)
        for a, step in enumerate(self.p["aggregate"]):
            self.replay_aggregate(a, step)

    def cached_edge(self, t, j, e):
        why = "task %s edge %d (%s)" % (t["id"], j, e["stage"])
        frames = None
        if e["stored"]:
            data = self.obj(e["digest"], why)
            if data is not None and len(data) != e["bytes"]:
                self.note("objects", "%s: %d bytes stored, the edge says %d" % (why, len(data), e["bytes"]))
            if data is not None and ("recordsRoot" in e or ":drops:" in e["stage"]):
                got = self.frames_of(e["digest"], why)
                if got:
                    frames = got[0]
                    if len(frames) != e.get("records"):
                        self.note("objects", "%s: %d records stored, the edge says %s" % (why, len(frames), e.get("records")))
                    if "recordsRoot" in e and merkle(frames) != e["recordsRoot"]:
                        self.note("objects", "%s: the frames' Merkle root is %s, recordsRoot says %s" % (why, merkle(frames), e["recordsRoot"]))
        if "recordIndex" in e:
            idx = self.obj(e["recordIndex"], why + " recordIndex")
            if idx is not None:
                self.record_index(why, e, idx, frames)
        if "exclusions" in e:
            self.exclusions(why, t, e)

    def record_index(self, why, e, idx, frames):
        if len(idx) % 36 or len(idx) // 36 != e.get("records"):
            self.note("objects", "%s: recordIndex holds %d bytes, not 36 per record for %s records" % (why, len(idx), e.get("records")))
            return
        leaves = [idx[k:k + 32] for k in range(0, len(idx), 36)]
        lengths = [struct.unpack_from(">I", idx, k + 32)[0] for k in range(0, len(idx), 36)]
        if sum(lengths) != e["bytes"]:
            self.note("objects", "%s: recordIndex frame lengths sum to %d, the edge has %d bytes" % (why, sum(lengths), e["bytes"]))
        if merkle_of_leaf_hashes(leaves) != e.get("recordsRoot"):
            self.note("objects", "%s: recordIndex's Merkle root is %s, recordsRoot says %s" % (why, merkle_of_leaf_hashes(leaves), e.get("recordsRoot")))
        if frames is not None and ([leaf_hash(f) for f in frames] != leaves or [len(f) for f in frames] != lengths):
            self.note("objects", "%s: recordIndex does not list the stored frames' leaf hashes and lengths" % why)

    def exclusions(self, why, t, e):
        got = self.frames_of(e["exclusions"], why + " exclusions")
        if not got:
            return
        by_reason = {}
        for r in got[1]:
            if not isinstance(r.get("reason"), str) or set(r) - {"reason", "id", "url"} or any(not isinstance(r[k], str) for k in r):
                self.note("objects", "%s: an exclusion is not {reason, id?, url?} strings: %s" % (why, sorted(r)))
                return
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        drops = (e.get("counters") or {}).get("drops", {})
        over = [k for k, n in by_reason.items() if n > drops.get(k, 0)]
        if over or (t["kind"] == "global-apply" and by_reason != drops):
            self.note("objects", "%s: exclusions by reason %s, counters.drops %s" % (why, canonical(by_reason), canonical(drops)))

    def cached_list(self):
        t = self.tasks.get("list")
        if not t:
            return
        data = self.obj(t["output"]["digest"], "task list output")
        if data is None:
            return
        want = {"listing": self.m["inputs"]["listing"], "segments": [{"index": s["index"], "path": s["path"]} for s in self.segs]}
        if data != canonical_bytes(want):
            self.note("objects", "task list output: not the canonical JSON of the listing and the segments in inputs")

    # -- recomputing what the stored inputs determine --

    def stream(self, tid):
        t = self.tasks.get(tid)
        if t is None:
            return None
        return self.frames_of(t["output"]["digest"], "task %s output" % tid)

    def replay_dedup(self, g, step):
        kp = step["keyParams"]
        ids = [s["index"] for s in self.segs]
        inputs = ["segment:%d" % i for i in ids] if g == 0 else ["apply:%d:%d" % (g - 1, i) for i in ids]
        streams = [self.stream(x) for x in inputs]
        summaries = [self.stream("summary:%d:%d" % (g, i)) for i in ids] if self.summarizes(g) else None
        if None in streams or (summaries is not None and None in summaries):
            return
        perms = minhash_perms(kp["minhash"]["seed"], kp["minhash"]["buckets"] * kp["minhash"]["hashesPerBucket"])
        keys_of = []
        for k, (i, (_, records)) in enumerate(zip(ids, streams)):
            mine = [{"keys": document_keys(r, kp, perms)} for r in records]
            if summaries is not None:
                got = summaries[k][1]
                if got != mine:
                    n = next((x for x, (a, b) in enumerate(zip(got, mine)) if a != b), min(len(got), len(mine)))
                    self.note("objects", "task summary:%d:%d: record %d is not the dedup keys of record %d of its input" % (g, i, n, n))
                self.replayed.append("summary:%d:%d" % (g, i))
            keys_of.append([r["keys"] for r in mine])
        # The decision: in list order, then stream order, a document is dropped if any of its keys was held
        # before (by any document, dropped or not); the reason is its lowest such kind.
        seen, lists, documents = set(), {}, 0
        for i, docs in zip(ids, keys_of):
            drops = []
            for ordinal, keys in enumerate(docs):
                documents += 1
                kind = None
                for o in range(0, len(keys), 17):
                    h = keys[o + 1:o + 17]
                    if h in seen:
                        kind = keys[o] if kind is None else min(kind, keys[o])
                    else:
                        seen.add(h)
                if kind is not None:
                    drops.append((ordinal, REASONS[kind]))
            if drops:
                lists[i] = drops
        plan = self.tasks.get("global:%d" % g)
        if plan is None:
            return
        self.replayed.append(plan["id"])
        stage = step["stage"]
        edges = {e["stage"]: e for e in plan["edges"][:-1]}
        plan_records = []
        for i in ids:
            e = edges.get("%s:drops:%d" % (stage, i))
            want = b"".join(frame({"ordinal": o, "reason": r}) for o, r in lists.get(i, []))
            if i in lists:
                plan_records.append({"segment": i, "drops": sha256(want), "count": len(lists[i])})
            if (e["digest"] if e else None) != (sha256(want) if i in lists else None):
                self.note("objects", "task %s: segment %d's drop list should be %s, the plan has %s" % (plan["id"], i, sha256(want) if i in lists else "none", e["digest"] if e else "none"))
        want = sha256(b"".join(frame(r) for r in plan_records))
        if plan["output"]["digest"] != want:
            self.note("objects", "task %s: the plan object should be %s, got %s" % (plan["id"], want, plan["output"]["digest"]))
        counts = (plan["output"].get("counters") or {}).get("counts", {})
        if counts.get("documents") != documents or counts.get("keys") != len(seen):
            self.note("objects", "task %s: counts %s, the summaries give documents %d, keys %d" % (plan["id"], canonical(counts), documents, len(seen)))
        for i, x, (frames, records) in zip(ids, inputs, streams):
            self.replay_apply(g, i, stage, frames, records, lists.get(i, []))

    def replay_apply(self, g, i, stage, frames, records, drops):
        t = self.tasks.get("apply:%d:%d" % (g, i))
        if t is None:
            return
        self.replayed.append(t["id"])
        dropped = dict(drops)
        kept = b"".join(f for k, f in enumerate(frames) if k not in dropped)
        if sha256(kept) != t["output"]["digest"]:
            self.note("objects", "task %s: the input minus its drop list is %s, the output is %s" % (t["id"], sha256(kept), t["output"]["digest"]))
        excl, counts = [], {}
        for k, reason in drops:
            r = records[k] if k < len(records) else {}
            x = {"reason": reason}
            if isinstance(r.get("id"), str):
                x["id"] = r["id"]
            url = r.get("url") if isinstance(r.get("url"), str) else r.get("uri")
            if isinstance(url, str):
                x["url"] = url
            excl.append(frame(x))
            counts[reason] = counts.get(reason, 0) + 1
        if (sha256(b"".join(excl)) if excl else None) != t["output"].get("exclusions"):
            self.note("objects", "task %s: exclusions should be %s" % (t["id"], sha256(b"".join(excl)) if excl else "absent"))
        if (t["output"].get("counters") or {}).get("drops") != counts:
            self.note("objects", "task %s: counters.drops should be %s" % (t["id"], canonical(counts)))

    def final_streams(self):
        g = len(self.p["global"])
        ids = [s["index"] for s in self.segs]
        tids = ["segment:%d" % i for i in ids] if g == 0 else ["apply:%d:%d" % (g - 1, i) for i in ids]
        streams = [self.stream(x) for x in tids]
        return None if None in streams else [(s, self.tasks[x]["output"]["digest"], st[1]) for s, x, st in zip(self.segs, tids, streams)]

    def replay_aggregate(self, a, step):
        t = self.tasks.get("aggregate:%d" % a)
        sid = (step["stage"], step["version"])
        if t is None or sid not in (("jsonl", "1"), ("token-shards", "1")):
            return
        inputs = self.final_streams()
        if inputs is None:
            return
        self.replayed.append(t["id"])
        try:
            if sid == ("jsonl", "1"):
                got = sha256(jsonl_bytes(inputs, step["params"]["fields"]))
                if got != t["output"]["digest"]:
                    self.note("objects", "task %s: the segments' records as JSONL hash to %s, the output is %s" % (t["id"], got, t["output"]["digest"]))
                return
            files = token_shards(inputs, step["params"])
        except (ValueError, KeyError, TypeError) as err:
            self.note("objects", "task %s: cannot rebuild it (%s)" % (t["id"], err))
            return
        entries = [{k: v for k, v in f.items() if k != "data"} for f in files]
        if sha256(files_index_bytes(entries)) != t["output"]["digest"]:
            self.note("objects", "task %s: the rebuilt files index hashes to %s, the output is %s" % (t["id"], sha256(files_index_bytes(entries)), t["output"]["digest"]))
            edges = {e["stage"]: e["digest"] for e in t["edges"][:-1]}
            for f in files:
                if edges.get("%s:%s" % (step["stage"], f["name"])) != f["digest"]:
                    self.note("objects", "task %s: file %s rebuilt as %s" % (t["id"], f["name"], f["digest"]))
                    break

    def run(self):
        self.graph()
        self.keys()
        self.edges()
        self.params()
        self.outputs()
        if self.out_dir is not None:
            self.out_files()
        if self.cache_dir is not None:
            self.cache()
        root = merkle(manifest_leaves(self.m))
        outputs_ok = not self.problems["outputs"]
        r = {"root": root, "rootOk": root == self.m["root"], "keysChecked": self.keys_checked, "keyMismatches": self.key_bad,
             "linkMismatches": self.link_bad, "outputsOk": outputs_ok}
        for k, name in (("structure", "structureProblems"), ("params", "paramProblems"), ("edges", "edgeProblems"), ("counts", "countProblems"), ("outputs", "outputProblems")):
            r[name] = self.problems[k]
        if self.out_dir is not None:
            r["filesChecked"], r["fileProblems"] = self.files_checked, self.problems["files"]
        if self.cache_dir is not None:
            r["objectsChecked"], r["objectProblems"], r["replayed"] = self.objects_checked, self.problems["objects"], len(self.replayed)
        r["ok"] = r["rootOk"] and not self.key_bad and not self.link_bad and not any(self.problems.values())
        return r


# ---- dedup (§6) ----

REASONS = ["exact-duplicate", "url-duplicate", "near-duplicate"]
# What ECMAScript's \s matches (WhiteSpace and LineTerminator), for normalise() and trim().
JS_SPACE = set("\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


def fold(text):
    """Unicode simple case folding (CaseFolding.txt status C and S), as reingest's foldCase: one code point
    to one, no context. Python has only full folding (casefold), so a character whose full folding is longer
    falls back to its lowercase when that is one code point (the S line), else stays as it is. The tables are
    Python's own (unicodedata.unidata_version): characters newer than those are not folded here."""
    out = []
    for ch in text:
        f = ch.casefold()
        if len(f) != 1:
            f = ch.lower()
            if len(f) != 1:
                f = ch
        out.append(f)
    return "".join(out)


def normalise(text):
    out, space = [], False
    for ch in fold(text):
        if ch in JS_SPACE:
            space = True
            continue
        if space and out:
            out.append(" ")
        space = False
        out.append(ch)
    return "".join(out)


def words_of(text):
    words, cur = [], []
    for ch in fold(text):
        if unicodedata.category(ch)[0] in "LN":
            cur.append(ch)
        elif cur:
            words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    return words


def utf16_units(s):
    b = s.encode("utf-16-le", "surrogatepass")
    return struct.unpack("<%dH" % (len(b) // 2), b)


def fnv1a_units(units, h):
    for u in units:
        h = ((h ^ u) * 0x01000193) & 0xFFFFFFFF
    return h


def minhash_perms(seed, count):
    a, b = [], []
    for i in range(count):
        d = hashlib.sha256(("reingest/minhash/%s/%d" % (seed, i)).encode("utf-8")).digest()
        a.append(struct.unpack_from("<I", d, 0)[0] | 1)
        b.append(struct.unpack_from("<I", d, 4)[0])
    return a, b


def minhash_bands(text, mh, perms):
    words = [utf16_units(w) for w in words_of(text)]
    n = mh["ngram"]
    spans = [(0, len(words))] if len(words) <= n else [(i, i + n) for i in range(len(words) - n + 1)]
    shingles = set()
    for lo, hi in spans:
        h = 0x811C9DC5
        for w in range(lo, hi):
            if w > lo:
                h = ((h ^ 0x20) * 0x01000193) & 0xFFFFFFFF
            h = fnv1a_units(words[w], h)
        shingles.add(h)
    a, b = perms
    sig = [min(((aj * x) + bj) & 0xFFFFFFFF for x in shingles) for aj, bj in zip(a, b)]
    per = mh["hashesPerBucket"]
    return ["%d:%s" % (k, hashlib.sha1(struct.pack("<%dI" % per, *sig[k * per:(k + 1) * per])).hexdigest()[:16]) for k in range(mh["buckets"])]


def document_keys(rec, kp, perms):
    text = rec.get("text") if isinstance(rec.get("text"), str) else ""
    keys = []
    if kp["exact"]:
        keys.append((0, "t:" + hashlib.sha256(utf8(normalise(text))).hexdigest()[:32]))
    if kp["url"] and isinstance(rec.get("url"), str):
        keys.append((1, "u:" + rec["url"]))
    if kp["minhash"]["enabled"]:
        keys += [(2, "m:" + band) for band in minhash_bands(text, kp["minhash"], perms)]
    return b"".join(bytes([kind]) + hashlib.sha256(utf8(key)).digest()[:16] for kind, key in keys)


# ---- aggregates (§5) ----

def jsonl_bytes(inputs, fields):
    lines = []
    for seg, _, records in inputs:
        for rec in records:
            line = {"segment": seg["path"]}
            for f in fields:
                if f in rec:
                    v = rec[f]
                    line[f] = base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
                else:
                    line.pop(f, None)
            lines.append(canonical(line) + "\n")
    return "".join(lines).encode("utf-8")


def seeded_permutation(n, seed, shard):
    """Fisher-Yates from the top, j from sha256 counter mode (u32 big-endian words), rejection sampled."""
    key = hashlib.sha256(canonical_bytes({"seed": seed, "shard": shard})).digest()
    state = {"counter": 0, "block": b"", "at": 0}

    def word():
        if state["at"] >= len(state["block"]):
            state["block"] = hashlib.sha256(key + struct.pack(">Q", state["counter"])).digest()
            state["counter"] += 1
            state["at"] = 0
        w = struct.unpack_from(">I", state["block"], state["at"])[0]
        state["at"] += 4
        return w

    order = list(range(n))
    for i in range(n - 1, 0, -1):
        bound = i + 1
        limit = 2**32 - (2**32 % bound)
        while True:
            w = word()
            if w < limit:
                break
        j = w % bound
        order[i], order[j] = order[j], order[i]
    return order


def token_shards(inputs, p):
    vocab = VOCAB[p["encoding"]]
    files, shard, tokens, number, first = [], [], 0, 0, 0

    def flush():
        nonlocal shard, tokens, number, first
        docs = shard if p["shuffleSeed"] is None else [shard[k] for k in seeded_permutation(len(shard), p["shuffleSeed"], number)]
        sources = []
        for d in shard:
            last = sources[-1] if sources else None
            if last and last["records"] == d["digest"] and last["first"] + last["count"] == d["ordinal"]:
                last["count"] += 1
            else:
                sources.append({"segment": d["segment"]["index"], "path": d["segment"]["path"], "records": d["digest"], "first": d["ordinal"], "count": 1})
        facts = {"format": p["format"], "encoding": p["encoding"], "documents": len(shard), "tokens": tokens, "firstDocument": first, "shuffleSeed": p["shuffleSeed"], "sources": sources}
        base = "shard-%05d" % number
        if p["format"] == "megatron":
            dtype, code, width = ("uint16", 8, 2) if vocab < 65500 else ("int32", 4, 4)
            files.append(shard_file(base + ".bin", b"".join(pack(d["tokens"], width) for d in docs), dict(facts, dtype=dtype)))
            files.append(shard_file(base + ".idx", megatron_index([len(d["tokens"]) // 4 for d in docs], width, code), dict(facts, dtype=dtype)))
        elif p["format"] == "llmc":
            dtype, version, width = ("uint16", 1, 2) if vocab <= 65536 else ("uint32", 2, 4)
            header = struct.pack("<3i", 20240520, version, tokens) + bytes(253 * 4)
            files.append(shard_file(base + ".bin", header + b"".join(pack(d["tokens"], width) for d in docs), dict(facts, dtype=dtype)))
        else:
            lines = []
            for d in docs:
                line = {"segment": d["segment"]["path"], "tokens": len(d["tokens"]) // 4}
                for f in p["fields"]:
                    if f in d["record"]:
                        line[f] = d["record"][f]
                    else:
                        line.pop(f, None)
                lines.append(canonical(line) + "\n")
            f = shard_file(base + ".jsonl", "".join(lines).encode("utf-8"), facts)
            if p["gzip"]:
                f["compress"] = "gzip"
            files.append(f)
        first += len(shard)
        number += 1
        shard, tokens = [], 0

    for seg, digest, records in inputs:
        for ordinal, rec in enumerate(records):
            t = rec.get("tokens")
            if not isinstance(t, bytes) or len(t) % 4:
                raise ValueError("segment %d record %d has no tokens" % (seg["index"], ordinal))
            n = len(t) // 4
            if shard and tokens + n > p["shardTokens"]:
                flush()
            shard.append({"tokens": t, "record": rec, "segment": seg, "digest": digest, "ordinal": ordinal})
            tokens += n
    if shard:
        flush()
    return files


def shard_file(name, data, facts):
    return {"name": name, "digest": sha256(data), "size": len(data), "facts": facts, "data": data}


def pack(le32, width):
    if width == 4:
        return le32
    ids = struct.unpack("<%dI" % (len(le32) // 4), le32)
    return struct.pack("<%dH" % len(ids), *ids)


def megatron_index(lengths, width, code):
    n = len(lengths)
    out = bytearray(b"MMIDIDX\x00\x00") + struct.pack("<QBQQ", 1, code, n, n + 1)
    out += struct.pack("<%di" % n, *lengths)
    pointers, at = [], 0
    for length in lengths:
        pointers.append(at)
        at += length * width
    out += struct.pack("<%dq" % n, *pointers) + struct.pack("<%dq" % (n + 1), *range(n + 1))
    return bytes(out)


# ---- the command ----

def check_file(path, out_dir, cache_dir):
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return {"file": path, "ok": False, "error": "not a readable JSON file: %s" % err}
    return check_text(path, text, out_dir, cache_dir)


def check_text(path, text, out_dir, cache_dir):
    try:
        m = json.loads(text)
    except ValueError as err:
        return {"file": path, "ok": False, "error": "not a readable JSON file: %s" % err}
    try:
        shape(m)
        return dict({"file": path}, **Checker(m, out_dir, cache_dir).run())
    except Unreadable as err:
        return {"file": path, "ok": False, "error": "not a reingest-manifest/2: %s" % err}
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        return {"file": path, "ok": False, "error": "malformed manifest: %s: %s" % (type(err).__name__, err)}


def encode_command(path):
    with open(path, "rb") as fh:
        value = json.loads(fh.read().decode("utf-8"))
    c = canonical_bytes(value)
    r = {"canonical": c.hex(), "canonicalSha256": sha256(c)}
    if isinstance(value, dict):
        f = frame(value)
        r["frame"], r["leaf"] = f.hex(), "sha256:" + leaf_hash(f).hex()
    print(json.dumps(r))
    return 0


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip())
        return 0
    ap = argparse.ArgumentParser(prog="verify_manifest.py", usage=__doc__.strip().split("\n\n")[1].strip(), add_help=False)
    ap.add_argument("--out")
    ap.add_argument("--cache")
    ap.add_argument("--encode")
    ap.add_argument("--lines", action="store_true")
    ap.add_argument("manifests", nargs="*")
    args = ap.parse_args(argv)
    if args.encode:
        return encode_command(args.encode)
    if args.lines:
        results = (check_text("line %d" % (i + 1), raw.decode("utf-8"), args.out, args.cache) for i, raw in enumerate(sys.stdin.buffer) if raw.strip())
    elif args.manifests:
        results = (check_file(path, args.out, args.cache) for path in args.manifests)
    else:
        ap.print_usage(sys.stderr)
        return 2
    status = 0
    for r in results:
        print(json.dumps(r, ensure_ascii=False), flush=True)
        if not r["ok"]:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
