/**
 * "Did you mean …?" in validation errors names fields, arguments and types of the schema — also
 * ones a viewer may not use (`createApiKey`). graphql-armor's suggestion blocking hides them; this
 * plugin applies it per viewer, so the Sandbox keeps its suggestions for the viewers who may see
 * the whole schema.
 */
import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Viewer } from '@hub/core/viewer';
import type { GatewayContext } from '../context.js';

export interface FieldSuggestionsOptions {
  /**
   * Who still gets suggestions.
   * @default () => false
   */
  allow?: (viewer: Viewer) => boolean;
  /**
   * What replaces a suggestion.
   * @default '[Suggestion hidden]'
   */
  mask?: string;
}

const ENUM_SUGGESTION = /Did you mean the enum value ".+"\?/g;

export function useFieldSuggestions(options: FieldSuggestionsOptions = {}): ApolloServerPlugin<GatewayContext> {
  const allow = options.allow ?? (() => false);
  const [armor] = new ApolloArmor({
    blockFieldSuggestion: { enabled: true, mask: options.mask ?? '[Suggestion hidden]' },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    maxAliases: { enabled: false },
    maxDirectives: { enabled: false },
    maxDepth: { enabled: false },
  }).protect().plugins as ApolloServerPlugin<GatewayContext>[];
  if (armor?.requestDidStart === undefined) throw new Error('graphql-armor no longer provides suggestion blocking');
  const hide = armor.requestDidStart.bind(armor);
  const mask = options.mask ?? '[Suggestion hidden]';
  return {
    async requestDidStart(requestContext): Promise<GraphQLRequestListener<GatewayContext> | void> {
      if (allow(requestContext.contextValue.viewer)) return;
      const listener = await hide(requestContext);
      return {
        ...listener,
        async didEncounterErrors(context) {
          // armor's pattern (`Did you mean "x"`) misses graphql-js's wording for enum values.
          for (const error of context.errors) error.message = error.message.replace(ENUM_SUGGESTION, mask);
          await listener?.didEncounterErrors?.(context);
        },
      };
    },
  };
}
