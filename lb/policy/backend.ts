import { policiesOf } from '../../src/model/policy/schema.js';
import type { ServiceModel } from '../model/types.js';
import { haproxyPolicyLines } from './render-haproxy.js';

/** Each service model's HAProxy policy lines, while the model object lives (it is reused while unchanged). */
const memo = new WeakMap<ServiceModel, string[]>();

const NONE: string[] = [];

export function servicePolicyLines(service: ServiceModel): string[] {
  let lines = memo.get(service);
  if (!lines) {
    const policies = policiesOf(service.spec);
    lines = policies ? haproxyPolicyLines(policies) : NONE;
    memo.set(service, lines);
  }
  return lines;
}

/** Backends with the same key render the same policy lines ('' for none). */
export function policyKey(policy: readonly string[] | undefined): string {
  return policy && policy.length > 0 ? policy.join('\n') : '';
}
