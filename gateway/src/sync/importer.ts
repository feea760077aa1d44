/**
 * The client side of `POST /sync/<domain>`, behind `npm run sync:import` (src/cli/sync-import.ts):
 * streams an NDJSON file to a running hub and records, after each answered batch, the last line the
 * hub acknowledged in `<file>.progress`, so an interrupted import resumes where the hub's answers
 * stopped. Lines sent but not yet answered when the import was interrupted are sent again; the hub
 * answers them DUPLICATE (the same idempotency key, given or derived from the payload), so a resumed
 * import applies nothing twice.
 *
 * The file is sent in requests of at most `linesPerRequest` lines, each streamed from the file (no
 * line is held whole here): a request has a bounded duration even for a multi-GB file (Node's
 * `server.requestTimeout` ends uploads after 300 s by default), and numbers its lines on with
 * `?first_line=`.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { request, type Dispatcher } from 'undici';
import { NDJSON, splitLines } from './lines.js';

export interface ImportOptions {
  /** The hub's origin, e.g. `http://localhost:4000` (a trailing `/graphql` is ignored). */
  readonly url: string;
  readonly domain: string;
  readonly token: string;
  readonly file: string;
  readonly source?: string | undefined;
  /** Ignore (and replace) an existing progress file. */
  readonly restart?: boolean;
  /** @default 50000 */
  readonly linesPerRequest?: number;
  /** Once the token and domain are checked: the file's size and where this run starts. */
  onStart?(start: { readonly fileBytes: number; readonly offset: number; readonly skipped: number }): void;
  /** Bytes of the file sent so far (from its start, skipped bytes included). */
  onSent?(bytes: number): void;
  /** Every answer line, as the hub wrote it. */
  onAnswer?(answer: Answer): void;
}

export type Answer = Record<string, unknown> & { line?: number; outcome?: string };

export interface ImportSummary {
  readonly applied: number;
  readonly merged: number;
  readonly stale: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Lines answered by this run. */
  readonly lines: number;
  /** Lines skipped because an earlier run's progress file recorded them as acknowledged. */
  readonly skipped: number;
  readonly fileBytes: number;
}

/** What the user sees, with exit code 1. */
export class ImportError extends Error {}

interface Progress {
  readonly version: 1;
  readonly domain: string;
  /** Last line the hub acknowledged, and the byte offset just after it. */
  readonly line: number;
  readonly offset: number;
}

export function progressPathOf(file: string): string {
  return `${file}.progress`;
}

const HINTS: Record<number, string> = {
  401: 'HUB_TOKEN was refused: missing, expired or not signed for this hub',
  403: "HUB_TOKEN's roles may not write this domain (admins and integration accounts may)",
  404: 'the hub has no sync API for this domain',
  429: 'the rate limit of this token is spent; try again later',
};

/** Atomic: a kill leaves the old or the new progress file, never half of one. */
async function saveProgress(file: string, progress: Progress): Promise<void> {
  const path = progressPathOf(file);
  await writeFile(`${path}.tmp`, `${JSON.stringify(progress)}\n`);
  await rename(`${path}.tmp`, path);
}

async function loadProgress(file: string, domain: string, size: number): Promise<Progress | undefined> {
  const path = progressPathOf(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const progress = JSON.parse(text) as Progress;
  const mismatch =
    progress.version !== 1 || !Number.isInteger(progress.offset) || progress.offset > size
      ? 'it does not fit this file'
      : progress.domain !== domain
        ? `it is an import into ${progress.domain}`
        : undefined;
  if (mismatch === undefined && progress.offset > 0) {
    // The offset must sit just after a newline (or at the end of the file) of this very file.
    const handle = await open(file, 'r');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, progress.offset - 1);
    await handle.close();
    if (byte[0] !== 0x0a && progress.offset !== size) {
      throw new ImportError(`${path} does not fit ${file} (edited since?); pass --restart to import from the start`);
    }
  }
  if (mismatch !== undefined) throw new ImportError(`${path}: ${mismatch}; pass --restart to import from the start`);
  return progress;
}

function endpoint(options: ImportOptions, firstLine: number): string {
  const base = options.url.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const query = new URLSearchParams({ first_line: String(firstLine) });
  if (options.source !== undefined) query.set('source', options.source);
  return `${base}/sync/${encodeURIComponent(options.domain)}?${query.toString()}`;
}

async function send(options: ImportOptions, firstLine: number, body: AsyncIterable<Buffer> | string) {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(endpoint(options, firstLine), {
      method: 'POST',
      headers: { 'content-type': NDJSON, authorization: `Bearer ${options.token}` },
      body: typeof body === 'string' ? body : Readable.from(body, { objectMode: false }),
      // The hub answers each batch once it is applied, and may hold a batch for its rate-limit window.
      headersTimeout: 600_000,
      bodyTimeout: 600_000,
    });
  } catch (error) {
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
    throw new ImportError(`the hub is not reachable at ${options.url} (${cause}); start it or pass --url`);
  }
  if (response.statusCode !== 200) {
    const text = await response.body.text();
    let detail = text.slice(0, 300);
    try {
      const error = (JSON.parse(text) as { errors?: { message: string; extensions?: { code?: string } }[] })
        .errors?.[0];
      if (error) detail = `${error.extensions?.code ?? 'ERROR'}: ${error.message}`;
    } catch {
      // not a hub error body: shown as text
    }
    const hint = HINTS[response.statusCode] ? `\n  ${HINTS[response.statusCode]}` : '';
    throw new ImportError(`the hub answered HTTP ${response.statusCode} (${detail})${hint}`);
  }
  return response;
}

/** Streams `file` to the hub from `progress`, saving progress after each answered batch. */
export async function importFile(options: ImportOptions): Promise<ImportSummary> {
  let size: number;
  try {
    const info = await stat(options.file);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    throw new ImportError(`${options.file}: no such file`);
  }
  if (options.restart) await rm(progressPathOf(options.file), { force: true });
  const resumed = options.restart ? undefined : await loadProgress(options.file, options.domain, size);
  const linesPerRequest = options.linesPerRequest ?? 50_000;
  const counts = { applied: 0, merged: 0, stale: 0, duplicate: 0, rejected: 0, lines: 0 };

  // An empty request checks the token and the domain before any line is sent.
  await (await send(options, 1, '')).body.dump();

  let line = resumed?.line ?? 0;
  let offset = resumed?.offset ?? 0;
  options.onStart?.({ fileBytes: size, offset, skipped: line });
  while (offset < size) {
    const firstLine = line + 1;
    const startOffset = offset;
    /** Byte offset after each line of this request, by line number - firstLine. */
    const ends: number[] = [];
    let sent = startOffset;
    async function* body(): AsyncGenerator<Buffer> {
      const stream = createReadStream(options.file, { start: startOffset, highWaterMark: 64 * 1024 });
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          let cut = chunk.length;
          for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) {
            ends.push(sent + at + 1);
            if (ends.length === linesPerRequest) {
              cut = at + 1;
              break;
            }
          }
          sent += cut;
          yield cut === chunk.length ? chunk : chunk.subarray(0, cut);
          options.onSent?.(sent);
          if (ends.length === linesPerRequest) return;
        }
        if (sent > (ends.at(-1) ?? startOffset)) ends.push(sent);
      } finally {
        stream.destroy();
      }
    }
    const response = await send(options, firstLine, body());
    let acknowledged: Progress = { version: 1, domain: options.domain, line, offset };
    let saved = acknowledged;
    const persist = async () => {
      if (acknowledged === saved) return;
      saved = acknowledged;
      await saveProgress(options.file, saved);
    };
    // The splitter pulls the next chunk only once every line of the last one was handled: persisting
    // there records each answered batch (the hub writes a batch's answers in one write).
    async function* answeredChunks(): AsyncGenerator<Buffer> {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        yield chunk;
        await persist();
      }
    }
    let summary: (Record<string, number> & { error?: { code: string; message: string; line: number } }) | undefined;
    try {
      for await (const raw of splitLines(answeredChunks())) {
        if (!('text' in raw)) continue;
        const answer = JSON.parse(raw.text) as Answer & { summary?: typeof summary };
        if (answer.summary) {
          summary = answer.summary;
          continue;
        }
        options.onAnswer?.(answer);
        const outcome = String(answer.outcome).toLowerCase() as keyof typeof counts;
        if (outcome in counts) counts[outcome]++;
        counts.lines++;
        const number = Number(answer.line);
        const end = ends[number - firstLine];
        if (end !== undefined) acknowledged = { version: 1, domain: options.domain, line: number, offset: end };
      }
    } catch (error) {
      await persist();
      const reason = error instanceof Error ? error.message : String(error);
      throw new ImportError(
        `the connection to the hub was lost after line ${acknowledged.line} (${reason}); re-run to resume`,
      );
    }
    if (summary?.error) {
      await persist();
      const { code, message, line: at } = summary.error;
      throw new ImportError(`the hub stopped at line ${at}: ${code}: ${message}; re-run to resume`);
    }
    if (!summary) {
      await persist();
      throw new ImportError(
        `the hub's answer ended without a summary after line ${acknowledged.line}; re-run to resume`,
      );
    }
    // Every line of the request was answered (blank lines are not): the request is done up to its end.
    const requestEnd = ends.at(-1) ?? sent;
    acknowledged = { version: 1, domain: options.domain, line: firstLine + ends.length - 1, offset: requestEnd };
    await persist();
    line = acknowledged.line;
    offset = acknowledged.offset;
  }
  // Complete: a later run imports the whole file again (all DUPLICATE, unless lines were fixed).
  await rm(progressPathOf(options.file), { force: true });
  return { ...counts, skipped: resumed?.line ?? 0, fileBytes: size };
}
