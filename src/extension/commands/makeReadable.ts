import { applySanitize, planSanitize, type SanitizePlan, type SanitizeResult } from '../../core/repair/sanitize';
import { md, mdCode } from '../../core/repair/render';
import { refreshAfter, trustGate } from '../repair/repairService';
import type { CommandContext } from './context';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';
import { plural } from '../words';

/** The preview document: every shard with invalid UTF-8, what would move, what is left alone. */
function previewMarkdown(plans: SanitizePlan[]): string {
  const out = ['# Make Readable for hermes-webui', ''];
  out.push(
    'Invalid UTF-8 in any shard makes hermes-webui unable to read the session: its audit crashes and its writer drops every later lifecycle event. ' +
      "Only shards no one is writing are changed (unchanged for the stale threshold, hermes-webui's lock free). Each undecodable line moves byte for byte to " +
      '`_audit_quarantine/<shard>` (offsets beside it); every other line stays byte for byte; ' +
      'a backup is kept and Undo Last Repair restores the original bytes.',
    '',
  );
  for (const p of plans) {
    out.push(`Sessions folder: ${mdCode(p.sessionsDir, 400)}`, '');
    for (const s of p.shards) {
      const where = s.lines.map((l) => `line ${l.line} (byte ${l.offset}, ${l.length} bytes)`).join(', ');
      out.push(
        `- ${s.skip ? '**left alone**' : '**make readable**'} ${mdCode(s.shard)}: ${plural(s.lines.length, 'undecodable line')}: ` +
          `${md(where, 400)}${s.skip ? ` — ${md(s.skip, 300)}` : ''}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * "Make Readable for hermes-webui…": preview first (a read-only document), then confirm, then
 * `applySanitize` per sessions folder. Options: `{yes: true}` skips the confirmation.
 */
export async function run(s: CommandContext, opts?: { yes?: boolean; now?: number }): Promise<{ status: string; message: string; results: SanitizeResult[] }> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate, results: [] };
  }
  const plans: SanitizePlan[] = [];
  for (const r of s.store.roots()) {
    const p = await planSanitize(r.sessionsDir, { now: opts?.now });
    if (p.shards.length) plans.push(p);
  }
  const work = plans.reduce((n, p) => n + p.shards.filter((x) => x.skip === null).length, 0);
  if (plans.length === 0) {
    const message = 'Bot Memory: every shard is valid UTF-8; hermes-webui can read every session.';
    void notifyInfo(message);
    return { status: 'nothing', message, results: [] };
  }
  await s.repair.plans.show('Make Readable for hermes-webui', previewMarkdown(plans));
  if (work === 0) {
    const message = 'Bot Memory: no shard can be made readable now (see the preview: each is in use or written to recently).';
    void notifyInfo(message);
    return { status: 'nothing', message, results: [] };
  }
  if (opts?.yes !== true) {
    const choice = await notifyWarning(
      `Make ${plural(work, 'shard')} readable for hermes-webui?`,
      { modal: true, detail: 'Undecodable lines move to _audit_quarantine/; a backup is kept; Undo Last Repair restores the bytes.' },
      'Make Readable',
    );
    if (choice !== 'Make Readable') return { status: 'cancelled', message: 'Cancelled.', results: [] };
  }
  const results: SanitizeResult[] = [];
  for (const p of plans) {
    const r = await applySanitize(p);
    results.push(r);
    for (const x of r.shards) s.output.info(`make readable: ${x.shard}: ${x.status}: ${x.message}`);
    await refreshAfter(s, [{ sessionsDir: p.sessionsDir, sessions: [...new Set(p.shards.map((x) => x.sessionId))].map((sessionId) => ({ sessionId })) }]);
  }
  const done = results.reduce((n, r) => n + r.shards.filter((x) => x.status === 'sanitized').length, 0);
  const message = `Bot Memory: made ${plural(done, 'shard')} readable for hermes-webui.`;
  void notifyInfo(message);
  return { status: 'applied', message, results };
}
