/** The repair feature: the plan/report documents (its commands are in commands.ts). */

import type { Registration, Services } from '../services';
import { PlanDocuments } from './planDocuments';

export interface RepairFeature {
  plans: PlanDocuments;
}

export function registerRepair(_services: Services): Registration<RepairFeature> {
  const plans = new PlanDocuments();
  return { api: { plans }, disposables: [plans] };
}
