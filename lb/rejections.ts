import type { HostRecord } from '../src/model/host.js';
import type { ModelIssue } from './model/types.js';

/**
 * Pure: the agents' host records → one issue per container an agent refused to register, so
 * every router (not only the `fabric up` that runs the agent) shows it in `/v1/status` and on
 * the dashboard. A record goes with its agent's lease, and so do its rejections.
 */
export function rejectionIssues(hosts: HostRecord[]): ModelIssue[] {
  const issues: ModelIssue[] = [];
  for (const host of [...hosts].sort((a, b) => a.name.localeCompare(b.name))) {
    const subject = `hosts/${host.name}`;
    const rejected = host.rejected ?? [];
    for (const { container, name, reason } of rejected) {
      issues.push({
        code: 'FABRIC_ERR_LABEL',
        subject,
        message: `container ${name} (${container.slice(0, 12)}) not registered: ${reason}`,
        container: { host: host.name, id: container, name, reason },
      });
    }
    const more = (host.rejectedTotal ?? rejected.length) - rejected.length;
    if (more > 0) issues.push({ code: 'FABRIC_ERR_LABEL', subject, message: `${more} more containers not registered (see the agent's /v1/endpoints)` });
    issues.push(...ignoredIssues(host, subject));
  }
  return issues;
}

/** `--compat`: one issue per container whose other tool's labels were partly not understood; the reason lists them. */
function ignoredIssues(host: HostRecord, subject: string): ModelIssue[] {
  const entries = host.ignored ?? [];
  const issues: ModelIssue[] = entries.map(({ container, name, ignored }) => ({
    code: 'FABRIC_ERR_COMPAT_IGNORED',
    subject,
    message: `container ${name} (${container.slice(0, 12)}): ignored: ${ignored.join('; ')}`,
    container: { host: host.name, id: container, name, reason: ignored.join('; ') },
    ignored,
  }));
  const more = (host.ignoredTotal ?? entries.length) - entries.length;
  if (more > 0)
    issues.push({ code: 'FABRIC_ERR_COMPAT_IGNORED', subject, message: `${more} more containers with ignored labels (see the agent's /v1/endpoints)` });
  return issues;
}
