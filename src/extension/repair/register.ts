/** The repair feature: audit report, repair commands, undo, collision reviews, plan documents. */

import type * as vscode from 'vscode';
import type { Services } from '../extension';
import { PlanDocuments } from './planDocuments';
import type { RepairServices } from './repairService';
import * as auditSessions from '../commands/auditSessions';
import * as repairSession from '../commands/repairSession';
import * as repairAll from '../commands/repairAll';
import * as undoRepair from '../commands/undoRepair';
import * as markCollisionReviewed from '../commands/markCollisionReviewed';

export interface RepairFeature {
  plans: PlanDocuments;
}

export function registerRepair(services: Services): { feature: RepairFeature; disposables: vscode.Disposable[] } {
  const plans = new PlanDocuments();
  const s: RepairServices = { ...services, plans };
  return {
    feature: { plans },
    disposables: [plans, ...[auditSessions, repairSession, repairAll, undoRepair, markCollisionReviewed].map((m) => m.register(s))],
  };
}
