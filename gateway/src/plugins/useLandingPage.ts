import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  ApolloServerPluginLandingPageLocalDefault,
  type ApolloServerPluginLandingPageLocalDefaultOptions,
} from '@apollo/server/plugin/landingPage/default';

/** The fallback text Apollo's page shows when its Sandbox script cannot be loaded from Apollo's CDN. */
const FALLBACK_OPENING = '<div class="fallback">';

/** What the fallback says besides: the bundled pages need nothing from outside. */
export const OFFLINE_LINKS =
  '<p id="hub-offline">No internet, or Apollo&rsquo;s CDN blocked? Use the hub&rsquo;s offline explorer: ' +
  '<a href="/graphiql">GraphiQL</a> (bundled, same tokens) &middot; <a href="/console">integration console</a></p>';

/**
 * Sandbox's container covers the whole page even while it is empty (its script never loaded), which
 * would leave the fallback's links visible but unclickable; once Sandbox loads it holds an iframe.
 */
const EMPTY_SANDBOX_STYLE = '#embeddableSandbox:empty { display: none; }';

/**
 * Apollo's page with the offline links inside its fallback (which Sandbox covers once it loads).
 * The page's own CSP admits styles by the nonce of this rendering only, so the one rule added here
 * carries that nonce.
 */
export function withOfflineLinks(html: string): string {
  const nonce = /<style nonce="?([0-9a-f]+)"?>/.exec(html)?.[1];
  const style = nonce !== undefined ? `<style nonce="${nonce}">${EMPTY_SANDBOX_STYLE}</style>` : '';
  const opening = html.indexOf(FALLBACK_OPENING);
  const closing = opening >= 0 ? html.indexOf('</div>', opening) : -1;
  if (closing >= 0) {
    // After Apollo's own words ("Apollo Sandbox cannot be loaded …"), inside the fallback.
    return `${html.slice(0, opening)}${style}${html.slice(opening, closing)}  ${OFFLINE_LINKS}\n${html.slice(closing)}`;
  }
  // A future Apollo page without that fallback: the links go at the end of the body, never lost.
  return html.replace('</body>', `${style}${OFFLINE_LINKS}</body>`);
}

/**
 * Apollo Sandbox as the landing page of `GET /graphql`, with a link to the bundled GraphiQL where
 * Sandbox cannot load. Sandbox comes from Apollo's CDN; on an air-gapped network Apollo's page shows
 * only its fallback text, and that text now offers /graphiql and /console.
 */
export function useLandingPage<TContext extends BaseContext>(
  options: ApolloServerPluginLandingPageLocalDefaultOptions,
): ApolloServerPlugin<TContext> {
  const apollo = ApolloServerPluginLandingPageLocalDefault(options) as ApolloServerPlugin<TContext>;
  return {
    async serverWillStart(service) {
      const listener = await apollo.serverWillStart?.(service);
      const render = listener?.renderLandingPage;
      if (listener === undefined || render === undefined) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render.call(listener);
          const { html } = page;
          return { html: async () => withOfflineLinks(typeof html === 'string' ? html : await html()) };
        },
      };
    },
  };
}
