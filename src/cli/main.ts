/**
 * `bot-memory-audit`: the journal core, headless, for CI and terminals.
 * Exit codes: 0 = no finding reaches --fail-on, 1 = one does, 2 = bad arguments or an
 * unreadable folder (message on stderr, never a stack trace).
 */

import { parseArgs } from 'util';
import { runAudit } from './audit';
import { runAuditWorkerIfWorker } from '../core/parallelAudit';
import { runRebuildWorkerIfWorker } from '../core/sqlite/parallelRows';
import { runAgreement } from './agreement';
import { runExport } from './export';
import { runFeedback } from './feedback';
import { runMemory, MEMORY_USAGE } from './memory';
import { runRebuild, REBUILD_USAGE } from './rebuild';
import { runPull, runPush } from './github';
import { runRepair, runReview, runUndo } from './repair';
import { UsageError, out, err } from './io';
import { VERSION } from '../core/version';

export const USAGE = `Usage: bot-memory-audit <command> [options]

Commands:
  audit <sessionsDir>   Read every turn journal and report sessions, turns and findings.
      --session ID              only this session
      --json                    print one JSON object (see docs/cli.md)
      --format F                text (default) | json | sarif (SARIF 2.1.0, for GitHub code scanning)
      --since TIME              only sessions modified since TIME (ISO-8601 or epoch seconds)
      --changed-since FILE      read only sessions changed since the run that wrote FILE (a state
                                file, created if missing); the others' last reports are reused
      --fail-on LEVEL           error (default) | warning | never: exit 1 when a finding reaches LEVEL
      --state-db FILE           hermes' state.db (e.g. ~/.hermes/state.db), read only: upstream's state_db_*
                                audit kinds and orphan_backup_without_state_row (docs/cli.md)
      --stale-after-minutes N   a turn open longer than this is dangling (default 60)
      --max-line-bytes N        longer lines are malformed, not parsed (default 16 MiB)
      --max-session-bytes N     a session's shards read into memory at most, all together (default 768 MiB);
                                past it a shard is an unreadable_shard finding (raise with --max-old-space-size)
      --now EPOCH_SECONDS       audit as if it were this time (for reproducible reports)
      --jobs N                  sessions audited at once on worker threads (default: the cores, at most 4,
                                for folders of 16 MB or more; 1 below)

  feedback <sessionsDir> <sessionId> <turnId>
                        Rate a turn: append a record to _turn_feedback/<sessionId>.jsonl (docs/feedback.md).
      --up | --down | --clear   👍, 👎, or clear the rating
      --reason R                why 👎: inaccurate, not_helpful, too_long, harmful ($BOT_MEMORY_FEEDBACK_REASONS)
      --correct TEXT            a better answer (a correction record; '' withdraws it); --correct-file F reads it
      --note TEXT               a note for the record (may span lines)
      --tag TAG                 a tag (repeatable)
      --reviewer NAME           default: $BOT_MEMORY_REVIEWER, git config user.name, the OS user
      --history                 print the turn's feedback history instead (with --json: the records)
      --json                    print the appended record

  export <sessionsDir>  Write training data from the feedback, one JSON object a line, and a dataset card
                        <out>.README.md beside it (mode 0600; nothing is written when there are no examples).
      --format F                sft (TRL prompt-completion) | sft-messages | kto | dpo | openai-sft | openai-dpo
      --out FILE                where to write (replaced atomically); - = standard output
      --since, --until TIME     turns started in this window (ISO-8601 or epoch seconds)
      --model NAME              only this model's turns
      --tag TAG                 only turns whose feedback has this tag (repeatable: any)
      --session ID              only this session (repeatable)
      --include-interrupted, --include-collisions   left out unless given
      --reviewer NAME           only this reviewer's ratings (repeatable; hermes-webui = hermes' own thumbs)
      --resolve MODE            several reviewers: latest (default) | majority | unanimous
      --hermes-feedback FILE    hermes' feedback.jsonl (default: beside the sessions folder); --no-hermes-feedback
      --no-redact               keep secrets and personal data (stated in the card); --redact-preview lists them
      --json                    print the summary as JSON

  agreement <sessionsDir>  Cohen's kappa per reviewer pair, Krippendorff's alpha (nominal), disagreements.
      --hermes-feedback FILE, --no-hermes-feedback, --json

  push <sessionsDir> --repo OWNER/NAME   Append finished turns and feedback to the GitHub log,
                                each record exactly once (docs/github-log.md). Token: GITHUB_TOKEN.
      --branch B                branch (default: the repository's default branch)
      --path P                  file in the repository (default data/interactions.jsonl)
      --api-url URL             API root (default https://api.github.com; GitHub Enterprise)
      --no-collect              push only what is already in the outbox
      --rotate-at-kb N          move the file to the next <name>-NNNN.jsonl before it passes N KB
                                (default 900; 0 = never)
      --quiet                   no progress on stderr (a rewritten log is still reported)
  pull <sessionsDir> --repo OWNER/NAME   Download the log (every rotated part, in order) to
                                <sessionsDir>/_github_log.jsonl.
      --branch, --path, --api-url as for push
      --last N                  only the last N lines
      --out FILE                write here instead

${REBUILD_USAGE}

${MEMORY_USAGE}

  repair <sessionsDir>  Print the repair plan (see docs/repair.md); nothing is written without --apply.
      --session ID              only this session
      --apply                   apply the plan (sidecar backups, repair log; undo with "undo")
      --json                    print the plan (and the result) as JSON
      --reviewer NAME           recorded in the repair log
      --stale-after-minutes N   a turn open longer than this is dangling (default 60)
      --max-line-bytes N, --max-session-bytes N   as for audit
      --now EPOCH_SECONDS       plan as if it were this time

  undo <sessionsDir>    Undo the last repair (refuses when a file changed since). --dry-run, --json.

  review <sessionsDir> --session ID --turn ID --note TEXT [--reviewer NAME]
                        Mark a terminal collision as reviewed (collisions are never auto-fixed).

  help                  Show this help.   version   Print the version.

<sessionsDir> is the folder that holds _turn_journal/ (the _turn_journal folder itself works too).
Exit codes: audit: 0 nothing reaches --fail-on, 1 something does, 2 usage error or unreadable folder;
memory: 0/1 as audit, 2 usage error, unreadable file or a schema that does not fit the settings;
push/pull: 0 done, 1 records left in the outbox (network, rate limit), 2 usage or auth error;
repair/undo: 0 nothing left to do, 1 work left undone (plan not applied, repair skipped, undo refused), 2 as above.`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  audit: runAudit,
  feedback: runFeedback,
  export: runExport,
  agreement: runAgreement,
  memory: runMemory,
  rebuild: runRebuild,
  push: runPush,
  pull: runPull,
  repair: runRepair,
  undo: runUndo,
  review: runReview,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    out(`${VERSION}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    err(`bot-memory-audit: unknown command "${command}"\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`bot-memory-audit ${command}: ${e.message}\nRun "bot-memory-audit help" for usage.\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(e);
    err(`bot-memory-audit ${command}: ${message}\n`);
    if (process.env.BMA_DEBUG && e instanceof Error && e.stack) err(e.stack + '\n');
    return 2;
  }
}

export { parseArgs };

// The CLI is also its own audit worker (`audit --jobs N`) and rebuild worker (`rebuild`): a
// worker serves jobs and nothing else.
if (!runAuditWorkerIfWorker() && !runRebuildWorkerIfWorker() && require.main === module) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      err(`bot-memory-audit: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
