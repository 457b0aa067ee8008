/** The "Query Index…" feature: the result documents (its command is in commands.ts). */

import type { Registration, Services } from '../services';
import { QueryDocuments } from './queryResults';

export interface QueryIndexFeature {
  documents: QueryDocuments;
}

export function registerQueryIndex(_services: Services): Registration<QueryIndexFeature> {
  const documents = new QueryDocuments();
  return { api: { documents }, disposables: [documents] };
}
