/**
 * Splits a byte stream into NDJSON lines with a bound on each line's length. Written by hand because
 * `readline` has no such bound: it keeps appending to a line until a newline arrives, so one
 * multi-GB line without a newline would be held in memory whole. Here a line longer than
 * `maxLineBytes` is reported as too long and its bytes are skipped up to the next newline; memory
 * stays at most `maxLineBytes` plus one chunk whatever the input.
 *
 * Pulling from the generator is what reads the source: a consumer that stops pulling (while a batch
 * executes) stops the reads, and the socket's back-pressure reaches the sender.
 */

/** The media type of the import's body and answer. */
export const NDJSON = 'application/x-ndjson';

/** 1 MiB: a brief payload is a few KiB; anything near this is not one record. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export type RawLine =
  | {
      readonly number: number;
      readonly text: string;
      /** Byte offset just after the line's newline (or the end of the input). */
      readonly end: number;
    }
  | { readonly number: number; readonly tooLong: true; readonly end: number }
  | { readonly number: number; readonly invalidUtf8: true; readonly end: number };

export interface LineOptions {
  readonly maxLineBytes?: number;
  /** Number of the first line (default 1): a client sending a file in several requests numbers on. */
  readonly firstLine?: number;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Blank lines (only whitespace) carry no record: they are numbered but not yielded. */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  return true;
}

export async function* splitLines(
  source: AsyncIterable<Buffer | Uint8Array | string>,
  options: LineOptions = {},
): AsyncGenerator<RawLine> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let number = (options.firstLine ?? 1) - 1;
  let offset = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let tooLong = false;

  const finish = (end: number): RawLine | undefined => {
    number++;
    const wasTooLong = tooLong;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partBytes);
    parts = [];
    partBytes = 0;
    tooLong = false;
    if (wasTooLong) return { number, tooLong: true, end };
    if (isBlank(bytes)) return undefined;
    const body = bytes.at(-1) === CARRIAGE_RETURN ? bytes.subarray(0, -1) : bytes;
    try {
      return { number, text: decoder.decode(body), end };
    } catch {
      return { number, invalidUtf8: true, end };
    }
  };

  const append = (bytes: Buffer) => {
    if (tooLong || bytes.length === 0) return;
    if (partBytes + bytes.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      partBytes = 0;
      return;
    }
    parts.push(bytes);
    partBytes += bytes.length;
  };

  for await (const chunk of source) {
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let start = 0;
    for (let index = bytes.indexOf(NEWLINE); index !== -1; index = bytes.indexOf(NEWLINE, start)) {
      // Copied: the line may outlive the chunk (a source may reuse its buffers).
      append(Buffer.from(bytes.subarray(start, index)));
      const line = finish(offset + index + 1);
      if (line) yield line;
      start = index + 1;
    }
    append(Buffer.from(bytes.subarray(start)));
    offset += bytes.length;
  }
  if (partBytes > 0 || tooLong) {
    const line = finish(offset);
    if (line) yield line;
  }
}
