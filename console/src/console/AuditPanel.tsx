/**
 * The audit trail of a customer. The graph has no `auditTrail` field yet (another workstream builds
 * it); until it does, this panel says so instead of inventing an API. It checks the live schema
 * (admins may introspect) so the notice changes by itself once the field exists.
 */
import { queryFields } from './api.js';
import { useGraph } from './useGraph.js';
import type { Credential } from '../shared/credentials.js';

export function AuditPanel({ credential }: { credential: Credential | undefined }) {
  const fields = useGraph(`${credential?.value}`, () => queryFields(credential));
  const present = fields.data?.__type?.fields.some((field) => field.name === 'auditTrail') ?? false;
  return (
    <section className="panel placeholder" id="audit" data-testid="audit-placeholder">
      <h2>Audit trail of a customer</h2>
      {present ? (
        <p>
          The graph now has <code>Query.auditTrail</code>; this console does not show it yet. Until it does, query it in{' '}
          <a href="/graphiql">GraphiQL</a>.
        </p>
      ) : (
        <p>
          <strong>Placeholder.</strong> The graph has no <code>auditTrail</code> field yet (it is being built
          separately); this panel will list who changed what of a customer, from which source, once the graph offers it.
        </p>
      )}
    </section>
  );
}
