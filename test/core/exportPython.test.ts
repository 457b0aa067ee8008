/**
 * Proof that exports are what their consumers read: every format is loaded with Hugging Face
 * `datasets`, run through TRL's own data utilities and rendered with a chat template by
 * `transformers` (test/support/validate_export.py), from a tokenizer this test writes. The
 * Python venv comes from scripts/setup-python.sh (CI runs it); without it the test is skipped
 * locally and fails under CI.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { writeExport } from '../../src/core/feedback/card';
import { EXPORT_FORMATS, exportTrainingData } from '../../src/core/feedback/export';
import { appendCorrection } from '../../src/core/feedback/store';
import { tempDir, T0 } from './helpers';
import { NOW, rate, turnLines, writeSession, type Msg } from './feedbackFixture';

const PY = path.join(process.env.BMA_PYTHON_VENV ?? path.join(os.homedir(), '.cache', 'bot-memory-auditor', 'pyvenv'), 'bin', 'python');
const VALIDATOR = path.resolve(__dirname, '../../../test/support/validate_export.py');

/** A tiny word-level tokenizer with a ChatML-style template that renders tool calls. */
export function writeTokenizer(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: { '[UNK]': 0, hello: 1 }, unk_token: '[UNK]' },
  };
  const template =
    "{%- for message in messages -%}<|im_start|>{{ message['role'] }}{% if message.get('name') %} name={{ message['name'] }}{% endif %}\n" +
    "{{ message['content'] or '' }}{% if message.get('tool_calls') %}{% for call in message['tool_calls'] %}\n" +
    "<tool_call>{{ call['function']['name'] }} {{ call['function']['arguments'] | tojson }}</tool_call>{% endfor %}{% endif %}<|im_end|>\n" +
    '{% endfor -%}{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif -%}';
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', unk_token: '[UNK]', eos_token: '[UNK]', pad_token: '[UNK]', chat_template: template }),
  );
}

describe('exports load in datasets, TRL and transformers (real Python)', function () {
  this.timeout(180_000);
  before(function () {
    if (!fs.existsSync(PY) || spawnSync(PY, ['-c', 'import datasets, trl, transformers'], { encoding: 'utf8' }).status !== 0) {
      if (process.env.CI) throw new Error(`no Python venv with datasets/trl/transformers at ${PY}: run scripts/setup-python.sh`);
      this.skip();
    }
  });

  it('every format, with tool calls, corrections, a rejected answer and multi-turn history @slow', async () => {
    const root = tempDir();
    const dir = path.join(root, 'sessions');
    fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
    const msgs = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1 good' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'REJECTED-A2' },
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '3C' },
      { role: 'assistant', content: 'It is 3C.' },
      { role: 'user', content: 'Q4' },
      { role: 'assistant', content: 'REJECTED-A4' },
    ] as unknown as Msg[];
    writeSession(
      dir,
      'k',
      turnLines('k', 'a', T0, 'Q1', 2) +
        turnLines('k', 'b', T0 + 60, 'Q2', 4) +
        turnLines('k', 'c', T0 + 120, 'Weather in Oslo?', 8) +
        turnLines('k', 'd', T0 + 180, 'Q4', 10),
      msgs,
    );
    writeSession(dir, 'm', turnLines('m', 'x', T0 + 5, 'Q1', 2) + turnLines('m', 'y', T0 + 65, 'Q2', 4), [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'REJECTED-M1' },
      { role: 'user', content: 'Q2' },
      { role: 'assistant', content: 'REJECTED-M2' },
    ]);
    rate(dir, 'k', 'a', 1, 1);
    rate(dir, 'k', 'b', -1, 2);
    rate(dir, 'k', 'c', 1, 3);
    rate(dir, 'k', 'd', -1, 4);
    rate(dir, 'm', 'x', -1, 5);
    rate(dir, 'm', 'y', -1, 6);
    appendCorrection(dir, { sessionId: 'k', turnId: 'b', text: 'A2 corrected', reviewer: 'ana', at: new Date(NOW.getTime() + 7 * 60_000) });
    const outDir = path.join(root, 'out');
    fs.mkdirSync(outDir);
    const files: { format: string; path: string; min_examples: number }[] = [];
    for (const format of EXPORT_FORMATS) {
      const r = await exportTrainingData(dir, { format, hermesFeedback: null });
      const file = path.join(outDir, `${format}.jsonl`);
      assert.ok(writeExport(file, r.lines, r.summary), `${format}: no examples (${JSON.stringify(r.summary.excluded)})`);
      files.push({ format, path: file, min_examples: format.endsWith('dpo') ? 2 : 3 });
    }
    // A known-bad control (what the old `sft` export wrote: a 👎 answer in a later example's
    // messages) must fail, so a validator that passes everything fails this test.
    const bad = path.join(root, 'bad.jsonl');
    fs.writeFileSync(
      bad,
      JSON.stringify({
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'REJECTED-x' },
          { role: 'user', content: 'R' },
          { role: 'assistant', content: 'ok' },
        ],
      }) + '\n',
    );
    files.push({ format: 'sft-messages', path: bad, min_examples: 1, expect_failure: "rejected answer 'REJECTED-' would be trained on (messages)" } as never);
    const tok = path.join(root, 'tokenizer');
    writeTokenizer(tok);
    const spec = path.join(root, 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({ tokenizer_dir: tok, files, forbidden: ['REJECTED-'] }));
    const p = spawnSync(PY, [VALIDATOR, spec], {
      encoding: 'utf8',
      env: { ...process.env, HF_HUB_OFFLINE: '1', HF_DATASETS_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', HF_HOME: path.join(root, 'hf') },
    });
    const last = p.stdout.trim().split('\n').pop() ?? '';
    assert.strictEqual(p.status, 0, `${last}\n${p.stderr.slice(-3000)}`);
    const rep = JSON.parse(last);
    assert.deepStrictEqual(Object.keys(rep.report).sort(), [...EXPORT_FORMATS, 'control'].sort());
    assert.strictEqual(rep.report.control.failures.length, 1);
    for (const f of EXPORT_FORMATS) assert.strictEqual(rep.report[f].rendered, rep.report[f].examples, f);
  });
});
