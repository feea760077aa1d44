import { GraphQLScalarType, Kind } from 'graphql';
import { badUserInput } from './errors.js';

/** Resolvers for the scalars of common.graphql, shared by every subgraph. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO-8601 instant in UTC',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new TypeError(`DateTime cannot represent ${String(value)}`);
    return date.toISOString();
  },
  parseValue(value) {
    return parseInstant(value);
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badUserInput('DateTime', 'must be an ISO-8601 string');
    return parseInstant(ast.value);
  },
});

function parseInstant(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime()))
    throw badUserInput('DateTime', `${JSON.stringify(value)} is not an ISO-8601 instant`);
  return date;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  description: 'Calendar date YYYY-MM-DD',
  serialize(value) {
    if (value instanceof Date) return value.toISOString().slice(0, 10);
    if (typeof value === 'string' && DATE_RE.test(value.slice(0, 10))) return value.slice(0, 10);
    throw new TypeError(`Date cannot represent ${String(value)}`);
  },
  parseValue(value) {
    return parseDate(value);
  },
  parseLiteral(ast) {
    return parseDate(ast.kind === Kind.STRING ? ast.value : undefined);
  },
});

function parseDate(value: unknown): string {
  if (typeof value !== 'string' || !DATE_RE.test(value) || Number.isNaN(Date.parse(value))) {
    throw badUserInput('Date', `${JSON.stringify(value)} is not a YYYY-MM-DD date`);
  }
  return value;
}

const MONEY_RE = /^-?\d{1,12}(\.\d{1,2})?$/;

export const Money = new GraphQLScalarType<string, string>({
  name: 'Money',
  description: 'Decimal amount with two fraction digits, as a string',
  serialize(value) {
    if (typeof value === 'number') return value.toFixed(2);
    if (typeof value === 'string') return Number(value).toFixed(2);
    if (typeof value === 'object' && value !== null && 'toFixed' in value) {
      return (value as { toFixed(d: number): string }).toFixed(2);
    }
    throw new TypeError(`Money cannot represent ${String(value)}`);
  },
  parseValue(value) {
    return parseMoney(value);
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return parseMoney(ast.value);
    return parseMoney(undefined);
  },
});

function parseMoney(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !MONEY_RE.test(text)) {
    throw badUserInput('Money', `${JSON.stringify(value)} is not a decimal amount with at most two fraction digits`);
  }
  return text;
}

export const scalarResolvers = { DateTime, Date: DateScalar, Money };
