import type { SessionSort } from '../tree/sessionsTree';
import type { CommandContext } from './context';
import { showPick } from '../untrustedText';

const SORTS: { value: SessionSort; label: string }[] = [
  { value: 'lastActivity', label: 'Last activity (newest first)' },
  { value: 'title', label: 'Title' },
  { value: 'id', label: 'Session id' },
];

export async function run(c: CommandContext, value?: SessionSort) {
  let s = SORTS.find((x) => x.value === value)?.value;
  if (!s) {
    const pick = await showPick(
      SORTS.map((x) => ({ ...x, description: x.value === c.sessions.tree.sort ? 'current' : undefined })),
      { title: 'Sort Sessions By' },
    );
    s = pick?.value;
  }
  if (s) c.sessions.tree.setSort(s);
}
