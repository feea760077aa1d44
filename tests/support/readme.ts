/**
 * The README's "A tour of the graph", read as a reader would: each example's GraphQL, the token
 * command it says reads all of it, and the narrower role's token command with the fields it says
 * come back `FORBIDDEN`. The end-to-end test runs exactly these, so the docs cannot drift.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@hub/core/process';
import { devTokenClaimsFromArgs, type DevTokenClaims } from '@hub/gateway/token';
import type { TokenClaims } from './tokens.js';

export interface TourExample {
  /** The bold heading, e.g. `1. A book of business with health, renewal and usage`. */
  readonly title: string;
  readonly query: string;
  /** The token that reads every field of the example. */
  readonly full: DevTokenClaims;
  /** A narrower role's token, and the fields it gets `FORBIDDEN` (null) on. */
  readonly narrower: DevTokenClaims;
  readonly forbidden: readonly string[];
}

const TOKEN_COMMAND = /`npm run token -- ([^`]+)`/g;

function claimsOfCommand(command: string): DevTokenClaims {
  return devTokenClaimsFromArgs(command.trim().split(/\s+/));
}

export function readmeTour(): TourExample[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const tour = readme.split('## A tour of the graph')[1]?.split(/\n## /)[0];
  if (tour === undefined) throw new Error('README.md has no "A tour of the graph" section');
  // Each example: a bold numbered heading, its notes, then one ```graphql block.
  return [...tour.matchAll(/\*\*(\d+\. [^*]+)\*\*([\s\S]*?)```graphql\n([\s\S]*?)```/g)].map((match) => {
    const [, title = '', notes = '', query = ''] = match;
    const flat = notes.replace(/\s+/g, ' ');
    const commands = [...flat.matchAll(TOKEN_COMMAND)].map((command) => command[1] ?? '');
    const forbidden = /`FORBIDDEN` on ((?:`\w+`(?:,? and |, )?)+)/.exec(flat)?.[1] ?? '';
    const [full, narrower, ...extra] = commands;
    if (full === undefined || narrower === undefined || extra.length > 0 || forbidden === '')
      throw new Error(
        `README tour example "${title}" must name two token commands (full access, then a narrower role) and what the narrower one gets FORBIDDEN on`,
      );
    return {
      title,
      query,
      full: claimsOfCommand(full),
      narrower: claimsOfCommand(narrower),
      forbidden: [...forbidden.matchAll(/`(\w+)`/g)].map((field) => field[1] ?? ''),
    };
  });
}

/** The claims a README `npm run token` command mints, as the test harness signs them. */
export const tokenClaimsOf = ({ tenant, roles, user, book = [] }: DevTokenClaims): TokenClaims => ({
  tenant,
  roles: [...roles],
  sub: user,
  book: [...book],
});
