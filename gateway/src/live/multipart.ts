/**
 * Apollo's multipart HTTP subscription protocol (`Accept: multipart/mixed;subscriptionSpec="1.0"`),
 * which Apollo Client's HttpLink speaks without extra links, on the gateway's GraphQL path. Runs
 * after identifyRequests, the partner safelist (which has put a partner's manifest body in place)
 * and the request rate limit; anything that is not a subscription goes on to Apollo Server.
 *
 * The response: `multipart/mixed;boundary="graphql";subscriptionSpec=1.0`, one part per event
 * (`{"payload": <result>}`), `{}` every 5 s as a heartbeat, `{"payload": null, "errors": [...]}`
 * when the server ends it (expired or revoked credentials), then the closing boundary.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getOperationAST, parse, type GraphQLError } from 'graphql';
import { ErrorCode, hubError } from '@hub/core/errors';
import { API_KEY_HEADER } from '../apiKeys.js';
import type { LiveConfig } from '../config.js';
import { identifyCredentials, identityOf, type IdentifyOptions } from '../identify.js';
import type { Logger } from '../logger.js';
import type { LiveEngine } from './engine.js';
import { prepareSubscription, watchCredentials, type PrepareOptions, type SubscribeRequest } from './prepare.js';

const HEARTBEAT_MS = 5000;
const PART = '\r\n--graphql\r\ncontent-type: application/json\r\n\r\n';

function isSubscription(body: SubscribeRequest): boolean {
  if (typeof body.query !== 'string') return false;
  try {
    return getOperationAST(parse(body.query), body.operationName ?? undefined)?.operation === 'subscription';
  } catch {
    return false;
  }
}

const header = (req: Request, name: string) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

export function liveMultipart(options: {
  readonly engine: () => LiveEngine | undefined;
  readonly prepare: PrepareOptions;
  readonly identify: IdentifyOptions;
  readonly config: LiveConfig;
  readonly log: Logger;
}): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const accept = header(req, 'accept') ?? '';
    const body = (req.body ?? {}) as SubscribeRequest;
    const engine = options.engine();
    if (req.method !== 'POST' || !/multipart\/mixed/i.test(accept) || !/subscriptionSpec/i.test(accept)) return next();
    // Refused identities, and queries with @defer, are Apollo Server's to answer.
    const identity = identityOf(res);
    if (!identity.ok || !isSubscription(body) || !engine) return next();
    let viewer = identity.viewer;
    const prepared = prepareSubscription(options.prepare, viewer, body, true);
    if (!('plan' in prepared)) {
      res.status(400).json({ errors: prepared.map((e) => e.toJSON()) });
      return;
    }
    res.writeHead(200, {
      'content-type': 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0',
      'cache-control': 'no-cache',
    });
    const channel = engine.subscribe(prepared.plan, { viewer: () => viewer });
    const write = (part: unknown) => res.write(`${PART}${JSON.stringify(part)}`);
    const heartbeat = setInterval(() => write({}), HEARTBEAT_MS);
    const stopWatching = watchCredentials({
      credentials: { authorization: header(req, 'authorization'), apiKey: header(req, API_KEY_HEADER) },
      check: (credentials) => identifyCredentials(credentials, randomUUID(), options.identify),
      intervalMs: options.config.credentialCheckMs,
      log: options.log,
      onViewer: (next) => (viewer = next),
      onEnd: (reason) => {
        const error: GraphQLError = hubError(ErrorCode.Unauthenticated, reason);
        write({ payload: null, errors: [error.toJSON()] });
        void channel.return();
      },
    });
    const finish = () => {
      clearInterval(heartbeat);
      stopWatching();
    };
    req.on('close', () => {
      finish();
      void channel.return();
    });
    void (async () => {
      try {
        for await (const result of channel) write({ payload: JSON.parse(JSON.stringify(result)) as unknown });
      } finally {
        finish();
        res.end('\r\n--graphql--\r\n');
      }
    })();
  };
}
