import type { Viewer } from '@hub/core/viewer';
import type { Logger } from './logger.js';

/** Per-request state of the gateway, built by the context factory once the token is verified. */
export interface GatewayContext {
  readonly viewer: Viewer;
  readonly requestId: string;
  /** Child logger carrying the request id and the viewer's user and tenant. */
  readonly log: Logger;
}
