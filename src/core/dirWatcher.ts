/**
 * Watching one folder (not recursive) with Node's fs.watch: inotify on Linux, FSEvents on
 * macOS, ReadDirectoryChangesW on Windows. Used instead of the editor's glob watcher service,
 * whose start-up is slow and, on some remote servers, unreliable; our files are always local.
 * A folder that does not exist yet (or vanishes) is re-armed by calling `arm()` again. A folder
 * deleted while watched stops the watch (the OS watch dies with the folder: before, a folder
 * deleted and made again was never watched again); `arm()` also re-watches a folder that was
 * replaced by another one (a new inode) under the same name.
 */

import * as fs from 'fs';
import * as path from 'path';

export type DirEventKind = 'created' | 'changed' | 'deleted';

export class DirWatcher {
  private watcher: fs.FSWatcher | undefined;
  /** The watched folder's identity when the watch started (`dev:ino`). */
  private identity = '';
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

  /**
   * Starts watching if the folder exists and we are not watching it yet; a watch of a folder that
   * is gone or was replaced (another inode under the same name) is dropped and started again.
   */
  arm(): boolean {
    if (this.disposed) return false;
    if (this.watcher) {
      if (identityOf(this.dir) === this.identity) return true;
      this.close();
    }
    try {
      const w = fs.watch(this.dir, { persistent: false }, (type, name) => {
        if (name === null || name === undefined) return;
        const file = path.join(this.dir, name.toString());
        if (type === 'change') {
          this.onEvent(file, 'changed');
          return;
        }
        if (name.toString() === path.basename(this.dir)) {
          // Linux reports the watched folder's own deletion as a 'rename' of its name.
          this.checkSelf(w, file);
          return;
        }
        // 'rename': created, deleted or moved; the file system tells which.
        fs.stat(file, (err) => this.onEvent(file, err ? 'deleted' : 'created'));
      });
      w.on('error', (err) => {
        this.onError(`watching ${this.dir} stopped: ${err.message}`);
        if (this.watcher === w) this.close();
      });
      this.watcher = w;
      this.identity = identityOf(this.dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`cannot watch ${this.dir}: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * An event named like the watched folder: the folder itself went (its watch is dead: dropped,
   * `active` turns false, nothing is reported for it), or a file inside has the folder's name.
   */
  private checkSelf(w: fs.FSWatcher, file: string): void {
    fs.stat(this.dir, (err, st) => {
      if (this.watcher !== w) return;
      if (err || !st.isDirectory() || `${st.dev}:${st.ino}` !== this.identity) {
        this.close();
        return;
      }
      fs.stat(file, (e) => this.onEvent(file, e ? 'deleted' : 'created'));
    });
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

/** `dev:ino` of the folder watched (links followed, as `fs.watch` does; '' when missing or not a folder). */
function identityOf(dir: string): string {
  try {
    const st = fs.statSync(dir);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : '';
  } catch {
    return '';
  }
}
