// Validation of security.istio.io/v1 AuthorizationPolicy, after istioctl's validation: action,
// selector or targetRefs (not both), and each rule's sources, operations and conditions.
import { type Field } from './fields.js';

const ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;
const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts'];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];

export function validateAuthorizationPolicy(root: Field): void {
  const spec = root.opt('spec');
  if (!spec?.object()) return; // an empty AuthorizationPolicy is valid (it denies everything in its scope)
  const action = spec.opt('action')?.oneOf(ACTIONS) ?? 'ALLOW';
  const provider = spec.opt('provider');
  if (action === 'CUSTOM' && !provider) spec.at('provider').error('required when action is CUSTOM');
  if (action !== 'CUSTOM' && provider) provider.error('must only be set when action is CUSTOM');
  if (provider?.object()) provider.req('name')?.string({ min: 1 });
  spec.atMostOne(['selector', 'targetRef', 'targetRefs']);
  const selector = spec.opt('selector');
  if (selector?.object()) {
    selector.opt('matchLabels')?.map((key, value) => {
      if (key === '' || key.includes('*')) value.error(`label key '${key}' must be non-empty and have no wildcard`);
      if (typeof value.value === 'string' && value.value.includes('*')) value.error('must not contain a wildcard');
      else value.string();
    });
  }
  const targetRef = spec.opt('targetRef');
  if (targetRef) policyTargetRef(targetRef);
  spec.opt('targetRefs')?.list(policyTargetRef);
  spec.opt('rules')?.list(rule);
}

function policyTargetRef(ref: Field): void {
  if (!ref.object()) return;
  ref.opt('group')?.string();
  ref.req('kind')?.string({ min: 1 });
  ref.req('name')?.string({ min: 1, max: 253 });
  ref.opt('namespace')?.dnsLabel();
}

function rule(r: Field): void {
  if (!r.object()) return;
  r.opt('from')?.list((from) => {
    if (!from.object()) return;
    const source = from.req('source');
    if (source?.object()) fields(source, SOURCE_FIELDS, sourceValue);
  }, { min: 1 });
  r.opt('to')?.list((to) => {
    if (!to.object()) return;
    const operation = to.req('operation');
    if (operation?.object()) fields(operation, OPERATION_FIELDS, operationValue);
  }, { min: 1 });
  r.opt('when')?.list((c) => {
    if (!c.object()) return;
    c.req('key')?.string({ min: 1 });
    c.opt('values')?.strings();
    c.opt('notValues')?.strings();
    if (!c.at('values').present && !c.at('notValues').present) c.error('at least one of values or notValues must be set');
  });
}

/** A source or operation: at least one known field, each a list of strings checked by `check`. */
function fields(f: Field, known: string[], check: (key: string, item: Field) => unknown): void {
  let present = 0;
  for (const key of known) {
    const list = f.opt(key);
    if (!list) continue;
    present++;
    list.strings((item) => check(key, item), { min: 1 });
  }
  if (present === 0) f.error(`must set at least one of ${known.join(', ')}`);
}

function sourceValue(key: string, item: Field): unknown {
  if (/ipBlocks$/i.test(key)) return item.cidr({ allowIP: true });
  return item.string({ min: 1 });
}

function operationValue(key: string, item: Field): unknown {
  const value = item.string({ min: 1 });
  if (value === undefined) return undefined;
  if (/ports$/i.test(key)) {
    if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) return item.error(`'${value}' must be a port number 1-65535 (as a string)`);
  }
  if (/methods$/i.test(key)) return item.token();
  if (/paths$/i.test(key)) return pathProblem(value) ? item.error(pathProblem(value) as string) : value;
  return value;
}

/** Istio paths: exact, `*` as a prefix or suffix (not both), `*` alone, or `{*}`/`{**}` templates. */
function pathProblem(path: string): string | undefined {
  if (path === '*') return undefined;
  if (path.includes('{')) {
    if (!path.startsWith('/')) return `'${path}' must start with '/'`;
    const segments = path.split('/');
    for (const s of segments) {
      if (s.includes('{') && s !== '{*}' && s !== '{**}') return `'${path}': templates must be whole segments {*} or {**}`;
    }
    return undefined;
  }
  const stars = path.split('*').length - 1;
  if (stars > 1 || (stars === 1 && !path.startsWith('*') && !path.endsWith('*'))) {
    return `'${path}': '*' may only be a prefix or a suffix`;
  }
  if (!path.startsWith('/') && !path.startsWith('*')) return `'${path}' must start with '/' or '*'`;
  return undefined;
}
