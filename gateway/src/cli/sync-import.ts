/**
 * Bulk import of an NDJSON file of brief payloads into a running hub, through `POST /sync/<domain>`:
 *   HUB_TOKEN=$(npm run -s token -- --tenant acme --role admin --user u1) \
 *   npm run sync:import -- --domain product [--url http://localhost:4000] [--source amplitude] usage.ndjson
 * Shows a progress bar (events/s, ETA from the bytes sent) on a terminal, prints each rejected line
 * with its number and the summary by outcome, and exits 2 when lines were rejected (1 on an error).
 * Interrupted, it resumes on the next run from `<file>.progress` (the last line the hub answered);
 * `--restart` starts from the first line. See src/sync/importer.ts.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ImportError, importFile, progressPathOf, type Answer, type ImportSummary } from '../sync/importer.js';

const DEFAULT_URL = 'http://localhost:4000';
/** Rejected lines printed one by one; beyond this only counted. */
const PRINTED_REJECTIONS = 50;

const USAGE = `usage: HUB_TOKEN=<token> npm run sync:import -- --domain <domain> [--url ${DEFAULT_URL}] [--source <system>]
                                          [--restart] [--json] [--lines-per-request 50000] <file.ndjson>
A development admin token: npm run -s token -- --tenant acme --role admin --user u1`;

function describe(answer: Answer): string {
  const field = typeof answer['field'] === 'string' ? ` ${answer['field']}` : '';
  return `line ${answer.line ?? '?'}: ${String(answer['code'] ?? 'REJECTED')}${field}: ${String(answer['reason'] ?? '')}`;
}

function report(summary: ImportSummary, file: string, domain: string, seconds: number): string {
  const rate = seconds > 0 ? Math.round(summary.lines / seconds) : summary.lines;
  const resumed = summary.skipped > 0 ? `, resumed after line ${summary.skipped}` : '';
  const lines = [
    `${domain} import of ${file}: ${summary.lines} lines answered in ${seconds.toFixed(1)} s (${rate} events/s${resumed})`,
    `  applied ${summary.applied}  merged ${summary.merged}  stale ${summary.stale}  duplicate ${summary.duplicate}  rejected ${summary.rejected}`,
  ];
  if (summary.rejected > 0) lines.push(`${summary.rejected} lines were rejected (listed on stderr): exit code 2`);
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        domain: { type: 'string' },
        url: { type: 'string', default: DEFAULT_URL },
        source: { type: 'string' },
        restart: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'lines-per-request': { type: 'string', default: '50000' },
      },
    });
  } catch (error) {
    throw new ImportError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const file = positionals[0];
  if (!values.domain) throw new ImportError(`--domain is required\n${USAGE}`);
  if (file === undefined || positionals.length > 1) throw new ImportError(`one file to import\n${USAGE}`);
  const linesPerRequest = Number(values['lines-per-request']);
  if (!Number.isInteger(linesPerRequest) || linesPerRequest < 1) {
    throw new ImportError(`--lines-per-request must be a positive integer\n${USAGE}`);
  }
  const token = env['HUB_TOKEN']?.trim();
  if (!token)
    throw new ImportError(`no token: set HUB_TOKEN to a bearer token of an admin or integration account\n${USAGE}`);

  const tty = process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {rate} events/s | ETA {eta_formatted} | {lines} lines',
      etaBuffer: 50,
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let answered = 0;
  let rejected = 0;
  let barStarted = false;
  const clearLine = () => (tty && barStarted ? process.stderr.write('\r\x1b[K') : true);
  try {
    const summary = await importFile({
      url: values.url,
      domain: values.domain,
      token,
      file,
      source: values.source,
      restart: values.restart,
      linesPerRequest,
      onStart({ fileBytes, offset, skipped }) {
        if (skipped > 0) process.stderr.write(`resuming after line ${skipped} (${progressPathOf(file)})\n`);
        barStarted = true;
        bar.start(Math.max(1, fileBytes), offset, { rate: 0, lines: 0 });
      },
      onSent(bytes) {
        const seconds = (Date.now() - started) / 1000;
        bar.update(bytes, { rate: seconds > 0 ? Math.round(answered / seconds) : 0, lines: answered });
      },
      onAnswer(answer) {
        answered++;
        if (answer.outcome !== 'REJECTED') return;
        rejected++;
        if (rejected <= PRINTED_REJECTIONS) {
          clearLine();
          process.stderr.write(`${describe(answer)}\n`);
        } else if (rejected === PRINTED_REJECTIONS + 1) {
          clearLine();
          process.stderr.write(`(further rejected lines are counted, not listed)\n`);
        }
      },
    });
    bar.update(summary.fileBytes, { lines: answered });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      values.json ? `${JSON.stringify({ ...summary, seconds })}\n` : report(summary, file, values.domain, seconds),
    );
    return summary.rejected > 0 ? 2 : 0;
  } finally {
    bar.stop();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (error) {
  process.exitCode = 1;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sync:import: ${error instanceof ImportError ? '' : 'unexpected error: '}${message}\n`);
}
