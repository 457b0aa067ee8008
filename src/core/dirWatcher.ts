/**
 * Watching one folder (not recursive) with Node's fs.watch: inotify on Linux, FSEvents on
 * macOS, ReadDirectoryChangesW on Windows. Used instead of the editor's glob watcher service,
 * whose start-up is slow and, on some remote servers, unreliable; our files are always local.
 * A folder that does not exist yet (or vanishes) is re-armed by calling `arm()` again.
 */

import * as fs from 'fs';
import * as path from 'path';

export type DirEventKind = 'created' | 'changed' | 'deleted';

export class DirWatcher {
  private watcher: fs.FSWatcher | undefined;
  private disposed = false;

  constructor(
    readonly dir: string,
    private readonly onEvent: (file: string, kind: DirEventKind) => void,
    private readonly onError: (message: string) => void = () => undefined,
  ) {
    this.arm();
  }

  get active(): boolean {
    return this.watcher !== undefined;
  }

  /** Starts watching if the folder exists and we are not watching yet. */
  arm(): boolean {
    if (this.disposed || this.watcher) return this.watcher !== undefined;
    try {
      const w = fs.watch(this.dir, { persistent: false }, (type, name) => {
        if (name === null || name === undefined) return;
        const file = path.join(this.dir, name.toString());
        if (type === 'change') {
          this.onEvent(file, 'changed');
          return;
        }
        // 'rename': created, deleted or moved; the file system tells which.
        fs.stat(file, (err) => this.onEvent(file, err ? 'deleted' : 'created'));
      });
      w.on('error', (err) => {
        this.onError(`watching ${this.dir} stopped: ${err.message}`);
        this.close();
      });
      this.watcher = w;
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`cannot watch ${this.dir}: ${(err as Error).message}`);
      return false;
    }
  }

  private close(): void {
    try {
      this.watcher?.close();
    } catch {
      // already closed
    }
    this.watcher = undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.close();
  }
}
