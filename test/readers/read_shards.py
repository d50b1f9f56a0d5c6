#!/usr/bin/python3
"""An independent reader for the token shards reingest writes, from the published formats only.

Run with Debian's /usr/bin/python3 and python3-numpy. Prints one JSON object per file on stdout.

  read_shards.py megatron PREFIX...   PREFIX.idx + PREFIX.bin (Megatron-LM MMIDIDX, version 1)
  read_shards.py llmc FILE...          llm.c / nanoGPT .bin (256 x int32 header, magic 20240520)
"""
import json
import struct
import sys

import numpy as np

MEGATRON_DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def read_megatron(prefix):
    with open(prefix + ".idx", "rb") as f:
        header = f.read(9)
        assert header == b"MMIDIDX\x00\x00", f"{prefix}.idx: bad header {header!r}"
        (version,) = struct.unpack("<Q", f.read(8))
        assert version == 1, f"{prefix}.idx: version {version}"
        (code,) = struct.unpack("<B", f.read(1))
        (sequence_count,) = struct.unpack("<Q", f.read(8))
        (document_count,) = struct.unpack("<Q", f.read(8))
        offset = f.tell()
    idx = np.memmap(prefix + ".idx", mode="r", order="C")
    lengths = np.frombuffer(idx, dtype=np.int32, count=sequence_count, offset=offset)
    pointers = np.frombuffer(idx, dtype=np.int64, count=sequence_count, offset=offset + lengths.nbytes)
    documents = np.frombuffer(idx, dtype=np.int64, count=document_count, offset=offset + lengths.nbytes + pointers.nbytes)
    dtype = MEGATRON_DTYPES[code]
    data = np.memmap(prefix + ".bin", mode="r", dtype=dtype, order="C")
    itemsize = np.dtype(dtype).itemsize
    assert int(lengths.sum()) * itemsize == data.nbytes, f"{prefix}.bin: size {data.nbytes} != sum of lengths"

    def sequence(i):
        start = int(pointers[i]) // itemsize
        return data[start : start + int(lengths[i])].tolist()

    return {
        "file": prefix,
        "dtype": np.dtype(dtype).name,
        "sequences": int(sequence_count),
        "documents": int(document_count) - 1,
        "documentIndices": [int(documents[0]), int(documents[-1])],
        "tokens": int(lengths.sum()),
        "first": sequence(0),
        "last": sequence(int(sequence_count) - 1),
    }


def read_llmc(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    magic, version, count = int(header[0]), int(header[1]), int(header[2])
    assert magic == 20240520, f"{path}: magic {magic}"
    dtype = {1: "<u2", 2: "<u4"}[version]
    tokens = np.fromfile(path, dtype=dtype, offset=256 * 4)
    assert len(tokens) == count, f"{path}: header says {count} tokens, file has {len(tokens)}"
    return {"file": path, "version": version, "dtype": np.dtype(dtype).name, "tokens": count, "head": tokens[:16].tolist(), "tail": tokens[-16:].tolist()}


def main(argv):
    kind, paths = argv[1], argv[2:]
    reader = {"megatron": read_megatron, "llmc": read_llmc}[kind]
    for p in paths:
        print(json.dumps(reader(p)))


if __name__ == "__main__":
    main(sys.argv)
