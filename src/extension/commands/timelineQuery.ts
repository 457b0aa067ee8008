import type { Snapshot, WebviewRequest } from '../../shared/timelineProtocol';
import type { CommandContext } from './context';

/** Internal (not contributed): tests ask an open timeline (by URI, else the active one) what its webview rendered. */
export function run(c: CommandContext, uri: unknown, request: WebviewRequest): Promise<Snapshot> {
  return c.timeline.query(uri, request);
}
