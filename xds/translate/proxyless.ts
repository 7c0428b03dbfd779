// What a proxyless gRPC client (@grpc/grpc-js-xds, gRFC A28) accepts of the routes we generate:
// prefix, exact and regex paths only (element-wise prefixes become regexes), no query matches
// (a gRPC request has no query string), forwarding actions only, and retries only with attempts.
import { escapeRegex } from './routes.js';
import type { IssueSink } from './routes.js';
import type { Json } from './types.js';

/** The routes of `routes` a gRPC client can use, adapted; what it cannot use is reported and left out. */
export function proxylessRoutes(routes: readonly Json[], report: IssueSink): Json[] {
  const out: Json[] = [];
  for (const route of routes) {
    const origin = String(route.name ?? 'route').split('/rule')[0] as string;
    const match = route.match as Json;
    if ((match.query_parameters as unknown[] | undefined)?.length) continue;
    if (!route.route) {
      report({ object: origin, message: `route ${String(route.name)}: redirects and direct responses do not apply to proxyless gRPC clients; left out for them` });
      continue;
    }
    // the match is shared unless it changes (it may be a constant message: routes.ts's MATCH_ALL)
    const adapted: Json = { ...route };
    // own fields only: a message's prototype answers every unset string field with ''
    if (Object.prototype.hasOwnProperty.call(match, 'path_separated_prefix') && typeof match.path_separated_prefix === 'string') {
      const adaptedMatch: Json = { ...match };
      delete adaptedMatch.path_separated_prefix;
      adaptedMatch.safe_regex = { regex: `${escapeRegex(match.path_separated_prefix)}(/.*)?` };
      adapted.match = adaptedMatch;
    }
    const action = route.route as Json;
    const retry = action.retry_policy as Json | undefined;
    if (retry && (retry.num_retries as { value: number } | undefined)?.value === 0) {
      const withoutRetry: Json = { ...action };
      delete withoutRetry.retry_policy;
      adapted.route = withoutRetry;
    }
    out.push(adapted);
  }
  return out;
}
