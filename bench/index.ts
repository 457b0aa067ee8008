/** `npm run bench`: every benchmark of the project, one after the other. */
import { benchTimeline } from './timeline';

async function main(): Promise<void> {
  await benchTimeline();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
