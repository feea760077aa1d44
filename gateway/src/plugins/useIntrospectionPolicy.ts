import type { ApolloServerPlugin } from '@apollo/server';
import { BREAK, Kind, visit, type DocumentNode } from 'graphql';
import { requestForbidden } from '@hub/core/errors';
import type { Viewer } from '@hub/core/viewer';
import type { GatewayContext } from '../context.js';

export interface IntrospectionPolicyOptions {
  /**
   * Who may introspect the schema (`__schema`, `__type`). `__typename` is never restricted.
   * Issue 3 narrows this to `(viewer) => hasRole(viewer, 'admin')`.
   * @default () => true
   */
  allow?: (viewer: Viewer) => boolean;
}

/** Apollo Server hands the same parsed document to every request with its text: visited once each. */
const introspects = new WeakMap<DocumentNode, boolean>();

/** True when any field of the document, in any operation or fragment, is `__schema` or `__type`. */
export function usesIntrospection(document: DocumentNode): boolean {
  let found = introspects.get(document);
  if (found === undefined) introspects.set(document, (found = visitsIntrospection(document)));
  return found;
}

function visitsIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Decides per viewer whether introspection is answered. Apollo Server's own `introspection`
 * switch is all-or-nothing, so it stays on and this plugin refuses with `FORBIDDEN` (HTTP 403)
 * once the operation is resolved — before the query plan runs.
 */
export function useIntrospectionPolicy(options: IntrospectionPolicyOptions = {}): ApolloServerPlugin<GatewayContext> {
  const allow = options.allow ?? (() => true);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, contextValue }) {
          if (document.kind !== Kind.DOCUMENT || !usesIntrospection(document)) return;
          if (!allow(contextValue.viewer)) throw requestForbidden('Introspection is not allowed for this viewer');
        },
      };
    },
  };
}
