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

/** Apollo's page with the offline links inside its fallback (which Sandbox covers once it loads). */
export function withOfflineLinks(html: string): string {
  if (html.includes(FALLBACK_OPENING)) return html.replace(FALLBACK_OPENING, `${FALLBACK_OPENING}\n  ${OFFLINE_LINKS}`);
  // A future Apollo page without that fallback: the links go at the end of the body, never lost.
  return html.replace('</body>', `${OFFLINE_LINKS}</body>`);
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
