import type { SessionFilter } from '../tree/sessionsTree';
import type { CommandContext } from './context';
import { showPick } from '../untrustedText';

export const FILTERS: { value: SessionFilter; label: string; description: string }[] = [
  { value: 'all', label: 'All sessions', description: '' },
  { value: 'findings', label: 'Sessions with findings', description: 'errors or warnings' },
  { value: 'open', label: 'Sessions with open turns', description: 'turns that never finished' },
];

export async function run(c: CommandContext, value?: SessionFilter) {
  let f = FILTERS.find((x) => x.value === value)?.value;
  if (!f) {
    const pick = await showPick(
      FILTERS.map((x) => ({ ...x, picked: x.value === c.sessions.tree.filter, description: x.value === c.sessions.tree.filter ? `${x.description ? `${x.description} · ` : ''}current` : x.description })),
      { title: 'Filter Sessions', placeHolder: 'Show which sessions?' },
    );
    f = pick?.value;
  }
  if (f) c.sessions.tree.setFilter(f);
}
