import type * as vscode from 'vscode';

/**
 * A set of disposables disposed together, newest first (the shape of vscode-hexeditor's and
 * custom-editor-sample's `dispose.ts`). Adding to a disposed store disposes at once.
 */
export class DisposableStore implements vscode.Disposable {
  private readonly items = new Set<vscode.Disposable>();
  private disposed = false;

  add<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.items.add(d);
    return d;
  }

  addAll(ds: Iterable<vscode.Disposable>): void {
    for (const d of ds) this.add(d);
  }

  /** Disposes `d` and forgets it. */
  delete(d: vscode.Disposable): void {
    if (this.items.delete(d)) d.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const all = [...this.items].reverse();
    this.items.clear();
    for (const d of all) {
      try {
        d.dispose();
      } catch {
        // keep disposing the rest
      }
    }
  }
}

/** Holds at most one disposable: setting a new value disposes the old one. */
export class DisposableValue<T extends vscode.Disposable> implements vscode.Disposable {
  private current: T | undefined;
  private disposed = false;

  get value(): T | undefined {
    return this.current;
  }

  set value(v: T | undefined) {
    if (v === this.current) return;
    const old = this.current;
    this.current = this.disposed ? undefined : v;
    old?.dispose();
    if (this.disposed) v?.dispose();
  }

  dispose(): void {
    this.disposed = true;
    this.value = undefined;
  }
}

/** Owns disposables; everything registered through `_register` is disposed with it. */
export abstract class Disposable implements vscode.Disposable {
  private readonly ownedDisposables = new DisposableStore();

  protected _register<T extends vscode.Disposable>(d: T): T {
    return this.ownedDisposables.add(d);
  }

  get isDisposed(): boolean {
    return this.ownedDisposables.isDisposed;
  }

  dispose(): void {
    this.ownedDisposables.dispose();
  }
}

/** Runs `fn` once, `ms` after the first of any number of `schedule()` calls (a status bar after a burst of changes). */
export class Coalesced implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fn: () => void,
    private readonly ms: number,
  ) {}

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fn();
    }, this.ms);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
