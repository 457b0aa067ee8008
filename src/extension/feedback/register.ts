/** The feedback feature: its service and commands (tree and timeline show what the index reads). */

import type { Services } from '../extension';
import type { SessionsFeature } from '../sessionsView';
import { FeedbackService } from './service';
import type { FeedbackContext } from '../commands/feedbackContext';
import * as giveFeedback from '../commands/giveFeedback';
import * as thumbsUp from '../commands/thumbsUp';
import * as thumbsDown from '../commands/thumbsDown';
import * as clearFeedback from '../commands/clearFeedback';
import * as addNote from '../commands/addNote';
import * as writeCorrection from '../commands/writeCorrection';
import * as nextUnreviewed from '../commands/nextUnreviewed';
import * as exportTrainingData from '../commands/exportTrainingData';

export function registerFeedback(services: Services, sessions: SessionsFeature): FeedbackService {
  const feedback = new FeedbackService(services);
  const c: FeedbackContext = { ...services, tree: sessions.tree, view: sessions.view, feedback };
  services.context.subscriptions.push(...[giveFeedback, thumbsUp, thumbsDown, clearFeedback, addNote, writeCorrection, nextUnreviewed, exportTrainingData].map((m) => m.register(c)));
  return feedback;
}
