/**
 * The "hermes-webui's own audit" section of the audit report in VS Code: upstream's recovery
 * audit of the folder (core/recoveryAudit.ts), with hermes' `state.db` when the
 * `botMemory.stateDb` setting names one (core/stateDb.ts). Every id and message is untrusted
 * text (a state.db row id is anyone's): escaped by md/mdCode.
 */

import { recoveryMessage, recoverySeverity } from './audit';
import type { RecoveryAudit } from './recoveryAudit';
import { md, mdCode } from './repair/render';

export function upstreamAuditMarkdown(audit: RecoveryAudit): string {
  const lines = ['', "## hermes-webui's own audit", ''];
  const db = audit.state_db;
  if (db) {
    const how = db.read ? (db.how === 'copy' ? 'read from a private copy' : 'read read-only') : '**not read**';
    lines.push(`hermes' state.db ${mdCode(db.path, 300)}: ${how}${db.message ? ` — ${md(db.message, 300)}` : ''}`, '');
  } else {
    lines.push('No hermes `state.db` set (`botMemory.stateDb`): like upstream without `--state-db`, every orphan backup counts as known to it.', '');
  }
  lines.push(`Status ${mdCode(audit.status)}: ${audit.summary.repairable} repairable, ${audit.summary.unsafe_to_repair} unsafe to repair.`, '');
  for (const i of audit.items) {
    lines.push(
      `- **${recoverySeverity(i)}** ${mdCode(i.kind)} ${mdCode(i.session_id, 120)} (${i.category}, ${mdCode(i.recommendation)}): ${md(recoveryMessage(i), 300)}`,
    );
  }
  return lines.join('\n') + '\n';
}
