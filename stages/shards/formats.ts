/**
 * Token shard layouts that trainers read.
 *
 * Megatron-LM indexed dataset (megatron/core/datasets/indexed_dataset.py): `.bin` holds every document's
 * tokens back to back; `.idx` is the 9-byte header "MMIDIDX\0\0", u64 version 1, u8 dtype code, u64
 * sequence count, u64 document count, then i32 sequence lengths, i64 sequence byte offsets into `.bin`,
 * i64 document indices (0, then the end of each document; here one sequence per document). All little
 * endian. The dtype follows Megatron's rule: uint16 (code 8) when the vocabulary is under 65,500, else
 * int32 (code 4).
 *
 * llm.c / nanoGPT `.bin`: a header of 256 little-endian int32 — magic 20240520, version, token count —
 * then the tokens: version 1 is uint16 (GPT-2's vocabulary fits), version 2 is uint32 for larger ones.
 */
export type TokenDtype = 'uint16' | 'int32' | 'uint32';

export function megatronDtype(vocabSize: number): { dtype: TokenDtype; code: number; bytes: number } {
  return vocabSize < 65500 ? { dtype: 'uint16', code: 8, bytes: 2 } : { dtype: 'int32', code: 4, bytes: 4 };
}

export function llmcDtype(vocabSize: number): { dtype: TokenDtype; version: number; bytes: number } {
  return vocabSize <= 65536 ? { dtype: 'uint16', version: 1, bytes: 2 } : { dtype: 'uint32', version: 2, bytes: 4 };
}

export const LLMC_MAGIC = 20240520;
export const MEGATRON_HEADER = Buffer.from('MMIDIDX\0\0', 'latin1');

/** Packs little-endian uint32 token bytes into the shard's item width. */
export function packTokens(le32: Uint8Array, bytes: number): Buffer {
  const n = le32.length >> 2;
  const src = Buffer.from(le32.buffer, le32.byteOffset, le32.byteLength);
  if (bytes === 4) return Buffer.from(src);
  const out = Buffer.allocUnsafe(n * 2);
  for (let i = 0; i < n; i++) out.writeUInt16LE(src.readUInt32LE(i * 4), i * 2);
  return out;
}

export function megatronIndex(lengths: readonly number[], itemBytes: number, code: number): Buffer {
  const n = lengths.length;
  const out = Buffer.alloc(9 + 8 + 1 + 8 + 8 + n * 4 + n * 8 + (n + 1) * 8);
  let o = MEGATRON_HEADER.copy(out, 0);
  o = out.writeBigUInt64LE(1n, o);
  o = out.writeUInt8(code, o);
  o = out.writeBigUInt64LE(BigInt(n), o);
  o = out.writeBigUInt64LE(BigInt(n + 1), o);
  for (const len of lengths) o = out.writeInt32LE(len, o);
  let pointer = 0n;
  for (const len of lengths) {
    o = out.writeBigInt64LE(pointer, o);
    pointer += BigInt(len * itemBytes);
  }
  for (let d = 0; d <= n; d++) o = out.writeBigInt64LE(BigInt(d), o);
  return out;
}

export function llmcHeader(tokens: number, version: number): Buffer {
  const h = Buffer.alloc(256 * 4);
  h.writeInt32LE(LLMC_MAGIC, 0);
  h.writeInt32LE(version, 4);
  h.writeInt32LE(tokens, 8);
  return h;
}
