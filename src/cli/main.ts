process.stdout.write('bot-memory-audit\n');
