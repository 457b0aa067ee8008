/** The feedback feature: its service (tree and timeline show what the index reads; its commands are in commands.ts). */

import type { Registration, Services } from '../services';
import { FeedbackService } from './service';

export function registerFeedback(services: Services): Registration<FeedbackService> {
  const api = new FeedbackService(services);
  return { api, disposables: [api.watchCorrections(), api.statusBar] };
}
