#!/usr/bin/env node
// Regenerates demo/sessions/ (a small hermes-webui sessions folder with every anomaly kind
// planted at least once, plus healthy sessions) and demo/manifest.json (its ground truth).
//
//   node scripts/make-demo.mjs           rewrite demo/sessions and demo/manifest.json
//   node scripts/make-demo.mjs --check   regenerate into a temp dir and fail if the committed
//                                        demo differs (byte for byte)
//
// Deterministic: fixed seed, fixed "now" (2025-11-20T18:00:00Z), hand-written conversations.
// It bundles test/support/fixtures.ts with esbuild on the fly (no build step needed).
import { buildSync } from 'esbuild';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEMO = path.join(ROOT, 'demo');
const SEED = 2025;
const NOW = 1763661600; // 2025-11-20T18:00:00Z
const DAY = 86400;
const HOUR = 3600;

/** @type {import('../test/support/fixtures').SessionSpec[]} */
const SESSIONS = [
  // ── 1. healthy, English, coding ──
  {
    id: 'a3f9c2e17b40',
    title: 'Python retry decorator with backoff',
    model: 'claude-sonnet-4-5',
    modelProvider: 'anthropic',
    workspace: '/home/maya/code/ingest-service',
    pids: [48211, 48377],
    startAt: NOW - 9 * DAY + 10 * HOUR,
    turns: [
      {
        user: 'I need a decorator that retries a function up to 3 times when it raises ConnectionError. Can you write one?',
        assistant:
          "Here's a small one:\n\n```python\nimport functools, time\n\ndef retry(times=3, exceptions=(ConnectionError,), delay=0.5):\n    def deco(fn):\n        @functools.wraps(fn)\n        def wrapper(*args, **kwargs):\n            for attempt in range(1, times + 1):\n                try:\n                    return fn(*args, **kwargs)\n                except exceptions:\n                    if attempt == times:\n                        raise\n                    time.sleep(delay)\n        return wrapper\n    return deco\n```\n\nUse it as `@retry()` or `@retry(times=5)`.",
      },
      {
        user: 'Can the delay grow exponentially instead of staying at 0.5 s?',
        assistant:
          'Yes — multiply by a factor each attempt: `time.sleep(delay * (2 ** (attempt - 1)))`. With delay=0.5 that sleeps 0.5 s, 1 s, 2 s… Add a cap like `min(30, …)` so a long retry chain never waits for minutes.',
      },
      {
        user: 'Should I add jitter? Several workers hit the same API.',
        assistant:
          'Definitely. Without jitter all workers retry in lockstep and hammer the API together. "Full jitter" is simple: `time.sleep(random.uniform(0, min(cap, base * 2 ** attempt)))`.',
      },
      {
        user: 'How do I test this without actually sleeping?',
        assistant:
          'Inject the sleep function: give the decorator a `sleep=time.sleep` parameter and pass a fake in tests (e.g. a list\'s `append`), then assert on the recorded delays. In pytest you can also `monkeypatch.setattr(time, "sleep", lambda s: None)`.',
      },
      {
        user: 'Does functools.wraps matter here?',
        assistant:
          "It copies `__name__`, `__doc__`, `__wrapped__` and friends onto the wrapper. Without it, logs and tracebacks show `wrapper` instead of your function's name, and tools that introspect functions (pytest, Flask routes) can get confused.",
      },
      {
        user: 'Great, thanks! Last thing: an async version?',
        assistant:
          'Same shape with `async def wrapper` and `await asyncio.sleep(...)`:\n\n```python\ndef aretry(times=3, exceptions=(ConnectionError,), base=0.5):\n    def deco(fn):\n        @functools.wraps(fn)\n        async def wrapper(*a, **kw):\n            for attempt in range(times):\n                try:\n                    return await fn(*a, **kw)\n                except exceptions:\n                    if attempt == times - 1:\n                        raise\n                    await asyncio.sleep(base * 2 ** attempt)\n        return wrapper\n    return deco\n```',
      },
    ],
  },

  // ── 2. healthy, English, travel; older turns in the legacy <sid>.jsonl ──
  {
    id: '5c0e8b2d9a61',
    title: 'Weekend in Lisbon',
    model: 'gpt-4.1-mini',
    modelProvider: 'openai',
    workspace: '/home/tom/travel',
    pids: [3120, 3377],
    startAt: NOW - 16 * DAY + 19 * HOUR,
    quirks: { legacyTurns: 2 },
    turns: [
      {
        user: 'I have a long weekend in Lisbon in March. Which neighbourhood should I stay in?',
        assistant:
          'Baixa and Chiado are central and easy for a first visit. Alfama is atmospheric but hilly, all cobblestones; Príncipe Real is quieter and full of cafés. For three nights I would pick Chiado.',
      },
      {
        user: 'Is the 28 tram worth it or is it a tourist trap?',
        assistant:
          'The route is lovely, but the queue at Martim Moniz can take an hour. Board a few stops later (e.g. in Graça) or ride early in the morning — and mind your pockets, it gets crowded.',
      },
      {
        user: "What's a good day trip?",
        assistant:
          'Sintra: 40 minutes by train from Rossio. Go early, book Pena Palace tickets online and walk down to Quinta da Regaleira. Cascais, by the sea, is a more relaxed alternative.',
      },
      {
        user: 'Where can I eat good pastéis de nata besides Belém?',
        assistant:
          'Manteigaria (in Chiado and at the Time Out Market) is a local favourite — eat them warm with cinnamon. Fábrica da Nata near Restauradores is good too.',
      },
      {
        user: 'Thanks! Any tip for getting in from the airport?',
        assistant: 'The red metro line takes you to the centre in about 25 minutes for under €2. Late at night with luggage, a taxi or Bolt costs around €15.',
      },
    ],
  },

  // ── 3. German cooking: interrupted turns (known + unknown reasons) and an old dangling turn ──
  {
    id: 'e71b4f0c3d28',
    title: 'Käsespätzle wie bei Oma',
    model: 'gemini-2.5-pro',
    modelProvider: 'google',
    workspace: '/home/jonas/rezepte',
    pids: [22014, 22371],
    startAt: NOW - 6 * DAY + 17 * HOUR,
    turns: [
      {
        user: 'Wie viele Eier brauche ich für Spätzleteig für 4 Personen?',
        assistant: 'Für 4 Personen: 400 g Mehl, 4 Eier, 1 TL Salz und etwa 150 ml Wasser oder Milch. Der Teig soll zäh vom Löffel reißen.',
      },
      {
        user: 'Welchen Käse nehme ich am besten?',
        assistant: 'Klassisch eine Mischung aus Bergkäse und Emmentaler, gern mit etwas Appenzeller für mehr Würze. Rechne mit 250–300 g für 4 Personen.',
      },
      {
        user: 'Und wie bekomme ich die Röstzwiebeln richtig knusprig?',
        fate: { kind: 'interrupted', reason: 'cancelled', after: 'worker_started' },
      },
      {
        user: 'Kann ich den Teig am Vorabend vorbereiten?',
        assistant:
          'Lieber nicht: Der Teig wird über Nacht zäh und grau. Du kannst aber die fertigen Spätzle vorkochen, kalt abschrecken und am nächsten Tag mit dem Käse im Ofen schichten.',
      },
      { user: 'Welcher Wein passt dazu?', fate: { kind: 'interrupted', reason: 'rate_limit', after: 'submitted' } },
      { user: 'Gibt es eine vegane Variante?', fate: { kind: 'dangling', after: 'worker_started' } },
      {
        user: 'Wie lange kommt die Form bei 180 °C in den Ofen?',
        assistant: 'Etwa 15 bis 20 Minuten, bis der Käse geschmolzen ist und oben leicht bräunt.',
        fate: { kind: 'interrupted', reason: 'provider_overloaded', after: 'assistant_started' },
      },
      {
        user: 'Danke! Letzte Frage: Spätzlehobel oder Brett?',
        assistant: 'Mit dem Hobel geht es schneller und gleichmäßiger; vom Brett geschabt werden sie unregelmäßiger und „echter“. Für den Anfang: Hobel.',
      },
    ],
  },

  // ── 4. Japanese travel: terminal collisions (cross-shard, same shard, tie) and out-of-order lines ──
  {
    id: '2d8a6e9f1c57',
    title: '京都と大阪の3日間',
    model: 'gpt-4.1-mini',
    modelProvider: 'openai',
    workspace: '/home/aiko/trips',
    pids: [60411, 60533, 61020],
    startAt: NOW - 12 * DAY + 1 * HOUR,
    turns: [
      {
        user: '京都と大阪で3日間の旅行プランを作ってください。桜の季節です。🌸',
        assistant: '1日目：哲学の道と南禅寺、夜は祇園白川。2日目：嵐山（竹林・渡月橋）と醍醐寺。3日目：大阪へ移動して大阪城公園の桜、夜は道頓堀で食べ歩き。',
      },
      {
        user: '京都から大阪への移動はJRと阪急どちらが便利？',
        assistant: 'JR新快速なら京都→大阪が約30分で速いです。河原町や嵐山から出るなら阪急京都線が便利で安いです。',
        fate: { kind: 'collision', first: 'completed', crossShard: true, reason: 'start_compensated' },
      },
      {
        user: '関西空港から京都へはどう行けばいい？',
        assistant: 'JR特急「はるか」で約75分、乗り換えなしです。ICOCA＆HARUKAのセット券を使うと割安になります。',
        quirks: ['out_of_order'],
      },
      {
        user: '雨の日のおすすめは？☔',
        assistant: '京都国立博物館や錦市場、大阪なら海遊館がおすすめです。',
        fate: { kind: 'collision', tie: true, crossShard: true, reason: 'no_response' },
      },
      {
        user: 'お土産は何がいいですか？🎁',
        assistant: '京都なら八ツ橋や抹茶スイーツ、大阪なら「りくろーおじさん」のチーズケーキが人気です。',
        fate: { kind: 'collision', first: 'interrupted', crossShard: false, reason: 'interrupted' },
      },
      {
        user: 'ありがとう！予算はどれくらい見ておけばいい？',
        assistant: '宿泊を除いて1日あたり8,000〜12,000円が目安です。寺社の拝観料は1か所400〜1,000円ほどです。',
      },
    ],
  },

  // ── 5. Arabic / Hebrew (RTL) with raw U+2028 / U+2029 / U+0085 inside messages ──
  {
    id: '9b6d1e3a7f02',
    title: 'مساعدة في استعلامات SQL',
    model: 'claude-sonnet-4-5',
    modelProvider: 'anthropic',
    workspace: '/home/layla/shop-db',
    pids: [33805, 34112],
    startAt: NOW - 4 * DAY + 8 * HOUR,
    turns: [
      {
        user: 'كيف أكتب استعلام SQL يجلب أحدث طلب لكل عميل؟',
        assistant: 'استخدم DISTINCT ON في PostgreSQL:\n\n```sql\nSELECT DISTINCT ON (customer_id) *\nFROM orders\nORDER BY customer_id, created_at DESC;\n```',
      },
      {
        user: "نسخت هذا من ملف PDF:\u2028SELECT * FROM orders\u2028WHERE status = 'paid';\u2029لماذا يظهر كسطر واحد؟",
        assistant:
          'النص يحتوي على محارف فاصل الأسطر U+2028 وفاصل الفقرات U+2029 بدل محرف السطر الجديد العادي. استبدلها قبل التنفيذ:\u2028text.replace(/[\\u2028\\u2029]/g, "\\n")',
      },
      {
        user: 'איך אני מוסיף אינדקס לעמודה created_at?',
        assistant: 'CREATE INDEX CONCURRENTLY idx_orders_created_at ON orders (created_at); — עם CONCURRENTLY הטבלה לא ננעלת לכתיבה בזמן הבנייה.',
      },
      {
        user: 'Exported from the old mainframe: CUSTOMER\u0085ORDER\u0085TOTAL — what is that odd character between the words?',
        assistant:
          'That is U+0085 NEXT LINE (NEL), a line break inherited from EBCDIC systems. Most editors show it as a box; normalise it to a newline before importing.',
      },
      {
        user: 'شكراً! وهل يمكن عمل ذلك في MySQL 8؟',
        assistant:
          'نعم، باستخدام دالة النافذة ROW_NUMBER():\n\n```sql\nSELECT * FROM (\n  SELECT o.*, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY created_at DESC) AS rn\n  FROM orders o\n) t WHERE rn = 1;\n```',
      },
    ],
  },

  // ── 6. Rust: torn tail, glued event, blank lines, an empty shard ──
  {
    id: '4e2c7a9b0d13',
    title: 'Rust lifetimes in a struct',
    model: 'qwen/qwen3-coder',
    modelProvider: 'openrouter',
    workspace: '/home/sam/rust/tokenizer',
    pids: [51002, 51877, 52310],
    startAt: NOW - 3 * DAY + 20 * HOUR,
    quirks: { blankLines: 3, emptyShard: true },
    turns: [
      {
        user: 'Why does `struct Parser { input: &str }` not compile?',
        assistant:
          "A struct that holds a reference needs a lifetime parameter, so the compiler knows the struct cannot outlive the data: `struct Parser<'a> { input: &'a str }`.",
      },
      {
        user: "What does `'a` actually mean there?",
        assistant:
          'It names "some region during which `input` is valid". Every `Parser<\'a>` promises not to be used after that borrow ends; the borrow checker enforces it wherever the parser is used.',
      },
      {
        user: 'Can I return a `&str` from a method that borrows from `input`?',
        assistant:
          "Yes: `fn next_token(&mut self) -> &'a str` — tie the return type to `'a`, not to `&mut self`, so the token can outlive the mutable borrow of the parser.",
        quirks: ['torn_tail'],
      },
      {
        user: 'When should I just use `String` instead?',
        assistant:
          'When the struct must own its data — e.g. it outlives the source buffer or moves to another thread. Cloning a few small strings is usually cheaper than fighting lifetimes.',
      },
      {
        user: "What is `'static` then?",
        assistant:
          "A reference valid for the whole program, like string literals. `T: 'static` is different: it means T holds no non-static borrows (an owned `String` qualifies).",
        quirks: ['glued'],
      },
      {
        user: 'Any good resource to really learn this?',
        assistant:
          'Read the "Validating References with Lifetimes" chapter of the Rust Book, then "Common Rust Lifetime Misconceptions" by pretzelhammer. Both are free online.',
      },
      { user: 'Thanks, it finally clicks 🦀', assistant: 'Glad it helped! Lifetimes feel odd at first, but after a few structs they become second nature.' },
    ],
  },

  // ── 7. hostile text in messages + every kind of garbage line ──
  {
    id: '7a1f5d8c2e96',
    title: 'Sanitizing markdown in a chat UI',
    model: 'claude-sonnet-4-5',
    modelProvider: 'anthropic',
    workspace: '/home/priya/web/chat-frontend',
    pids: [40917, 41008],
    startAt: NOW - 8 * DAY + 14 * HOUR,
    quirks: { garbage: ['not_json', 'json_array', 'json_number', 'json_string', 'json_null', 'nul_bytes'] },
    turns: [
      {
        user: 'Our chat renders user messages as markdown. Someone posted <script>alert(1)</script> and it ran. How do we stop that?',
        assistant:
          'Render markdown to HTML, then sanitize that HTML with an allow-list (DOMPurify in the browser, nh3 or bleach in Python). Never insert raw user HTML with `innerHTML`.',
      },
      {
        user: 'Does that also cover <img src=x onerror=alert(1)> ?',
        assistant: 'Yes — DOMPurify strips event-handler attributes like `onerror`. Keep `<img>` only if you need it, and restrict `src` to https: URLs.',
      },
      {
        user: 'What about links like [click me](javascript:alert(document.cookie)) ?',
        assistant:
          'Block every URL scheme except `http:`, `https:` and `mailto:`. markdown-it does this by default through `validateLink`; make sure nobody turned it off. A rendered [click me](javascript:alert(1)) must stay plain text.',
      },
      {
        user: 'Can you give me tricky strings for our test suite?',
        assistant:
          'Try these:\n\n```\n<svg onload=alert(1)>\n<a href="jAvAsCrIpT:alert(1)">x</a>\n[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)\n<iframe srcdoc="<script>alert(1)</script>">\n</textarea><script>alert(1)</script>\n```\n\nAll of them must render as inert text or be removed.',
      },
      {
        user: 'Should code blocks be escaped too?',
        assistant:
          'Yes. Inside ``` fences the renderer must HTML-escape `<`, `>` and `&` — `</textarea><script>` has to appear literally instead of closing your textarea.',
      },
      {
        user: '**Bold** works, but # headings in messages look huge. Can we disable them?',
        assistant:
          "In markdown-it: `md.disable(['heading', 'lheading'])`. Keep **bold**, _italic_, `code`, lists and links — that covers what people actually use in chat.",
      },
    ],
  },

  // ── 8. Spanish cooking: invalid UTF-8 bytes in one line (upstream raises for the session) ──
  {
    id: 'c4d09e6b1a75',
    title: 'Paella valenciana',
    model: 'gpt-4.1-mini',
    modelProvider: 'openai',
    workspace: '/home/lucia/cocina',
    pids: [12876, 13090],
    startAt: NOW - 10 * DAY + 12 * HOUR,
    turns: [
      {
        user: '¿Qué ingredientes lleva una paella valenciana auténtica?',
        assistant:
          'Arroz bomba, pollo, conejo, judía verde (ferraura), garrofó, tomate rallado, aceite de oliva, pimentón, azafrán y agua. ¡Ni marisco ni chorizo!',
      },
      {
        user: '¿Cuánta agua pongo por taza de arroz?',
        assistant:
          'En paella se calcula por paellera: para una de 40 cm, unos 300 g de arroz y 1,2 litros de caldo, es decir, unas 3 a 3,5 partes de líquido por una de arroz.',
        quirks: ['invalid_utf8'],
      },
      {
        user: '¿Cómo consigo el socarrat?',
        assistant: 'Al final, sube el fuego 1–2 minutos sin remover hasta oír un crepitar suave y oler a tostado. Retírala antes de que huela a quemado.',
      },
      {
        user: '¿Se tapa la paella al reposar?',
        assistant: 'Sí: 5 minutos fuera del fuego con un paño limpio encima. Así el arroz termina de hacerse sin secarse.',
      },
    ],
  },

  // ── 9. French devops: a created_at written as a string (upstream raises ValueError) ──
  {
    id: '8f3b2c6d4e19',
    title: 'Déployer une app Flask avec Docker',
    model: 'llama3.1:8b',
    modelProvider: 'ollama',
    workspace: '/home/claire/flask-api',
    pids: [7781, 7902],
    startAt: NOW - 5 * DAY + 9 * HOUR,
    turns: [
      {
        user: 'Quel Dockerfile minimal pour une app Flask ?',
        assistant:
          '```dockerfile\nFROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD ["gunicorn", "-b", "0.0.0.0:8000", "app:app"]\n```',
      },
      {
        user: 'Pourquoi éviter `flask run` en production ?',
        assistant:
          'C’est un serveur de développement : un seul processus, pas conçu pour la charge ni pour la sécurité. Utilise gunicorn ou uWSGI derrière un reverse proxy.',
      },
      {
        user: 'Comment passer les variables d’environnement sans les mettre dans l’image ?',
        assistant:
          'Avec `docker run --env-file .env …` ou la clé `env_file:` de docker compose. Ne copie jamais `.env` dans l’image (ajoute-le à `.dockerignore`).',
        quirks: ['string_created_at'],
      },
      {
        user: 'L’image fait 1 Go, c’est normal ?',
        assistant:
          'Non : pars de `python:3.12-slim`, utilise un build multi-étapes pour les dépendances compilées et vide le cache pip. 150–200 Mo est un objectif réaliste.',
      },
      {
        user: 'Merci ! Et pour les logs ?',
        assistant: 'Écris sur stdout/stderr (gunicorn le fait avec `--access-logfile -`) et laisse Docker les collecter : `docker logs -f <conteneur>`.',
      },
    ],
  },

  // ── 10. emoji + Chinese: missing/empty turn_id, orphan turn, NaN created_at, a live turn ──
  {
    id: '1b7e9a4c6f08',
    title: 'Quick questions 🐼 随便问问',
    model: 'gemini-2.5-pro',
    modelProvider: 'google',
    workspace: '/home/wei/notes',
    pids: [70112, 70245],
    startAt: NOW - 1 * DAY - 6 * HOUR,
    turns: [
      {
        user: '你好！能推荐一本入门的 Python 书吗？📚',
        assistant: '推荐《Python编程：从入门到实践》，例子多、节奏好。英文好的话也可以看 *Automate the Boring Stuff with Python*，在线免费。',
      },
      {
        user: 'How many minutes should I boil 🍝 spaghetti?',
        assistant: 'Usually 9–11 minutes — check the package and taste a minute early if you like it al dente.',
        quirks: ['no_turn_id'],
      },
      {
        user: "What's the time difference between Berlin and Tokyo? 🕐",
        assistant: 'Tokyo is 8 hours ahead of Berlin in winter and 7 hours ahead during European summer time.',
        fate: { kind: 'orphan' },
      },
      { user: '熊猫一天吃多少竹子？🐼', assistant: '大熊猫每天大约吃 12–38 公斤竹子，要花 10–16 个小时进食。', quirks: ['empty_turn_id'] },
      { user: 'Can you convert 72 °F to Celsius?', fate: { kind: 'non_finite', value: 'NaN' } },
      {
        user: "Translate 'thank you' into Korean and Thai 🙏",
        assistant: 'Korean: 감사합니다 (gamsahamnida). Thai: ขอบคุณ (khop khun) — add ครับ or ค่ะ to be polite.',
      },
      { user: 'Write a haiku about debugging at 2am 🌙', fate: { kind: 'live', after: 'worker_started' } },
    ],
  },

  // ── 11. CRLF shard, BOM shard, an empty answer (null index), a stale pending turn ──
  {
    id: '6d4a8e2f0b35',
    title: 'Meeting notes (synced from Windows)',
    model: 'claude-sonnet-4-5',
    modelProvider: 'anthropic',
    workspace: 'C:\\Users\\dana\\Documents\\notes',
    pids: [9120, 9388],
    startAt: NOW - 2 * DAY + 15 * HOUR,
    quirks: { crlf: true, bom: true },
    turns: [
      {
        user: 'Summarize: we agreed to move the launch to May 12, Priya owns QA, and marketing needs the final screenshots by May 2.',
        assistant: 'Summary:\n- Launch moved to **May 12**.\n- QA owner: Priya.\n- Marketing needs the final screenshots by **May 2**.',
        attachments: ['meeting-2025-11-18.txt'],
      },
      {
        user: 'Turn that into a checklist.',
        assistant: '- [ ] Confirm the May 12 launch date with stakeholders\n- [ ] Priya: QA plan and sign-off\n- [ ] Final screenshots to marketing by May 2',
      },
      { user: 'ok', fate: { kind: 'completed', nullAssistantIndex: true } },
      {
        user: 'What time is 15:00 CET in San Francisco and Bangalore?',
        assistant: '15:00 CET is 06:00 in San Francisco (PST) and 19:30 in Bangalore (IST).',
      },
      { user: 'Draft a polite email asking Priya for the QA timeline.', fate: { kind: 'dangling', after: 'worker_started', stalePending: true } },
    ],
  },

  // ── 12. healthy, Portuguese, spreadsheets ──
  {
    id: '0e5f3a7b9c24',
    title: 'Planilha de orçamento doméstico',
    model: 'gpt-4.1-mini',
    modelProvider: 'openai',
    workspace: '/home/rafa/financas',
    pids: [15530],
    startAt: NOW - 20 * DAY + 21 * HOUR,
    turns: [
      {
        user: 'Como somar só os valores negativos de uma coluna no Google Sheets?',
        assistant: 'Use `=SOMASE(B2:B100; "<0")`. Com a planilha em inglês, a função se chama `SUMIF`.',
      },
      {
        user: 'E para somar por categoria?',
        assistant: '`=SOMASES(B:B; C:C; "Mercado")` soma a coluna B onde a categoria (coluna C) é "Mercado". Uma tabela dinâmica também resolve.',
      },
      {
        user: 'Como destacar gastos acima de R$ 500?',
        assistant: 'Formatar › Formatação condicional › "Maior que" 500 na coluna de valores, com fundo vermelho-claro.',
      },
      {
        user: 'Valeu! Dá para proteger a aba das fórmulas?',
        assistant: 'Sim: clique com o botão direito na aba › Proteger página, e escolha quem pode editar.',
      },
    ],
  },
];

function loadFixtures() {
  const out = path.join(os.tmpdir(), `bma-make-demo-${process.pid}.cjs`);
  buildSync({
    entryPoints: [path.join(ROOT, 'test/support/fixtures.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    logLevel: 'warning',
  });
  try {
    return createRequire(import.meta.url)(out);
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Generate into `<target>/sessions` and `<target>/manifest.json`. */
function generate(fx, target) {
  const sessionsDir = path.join(target, 'sessions');
  fs.rmSync(sessionsDir, { recursive: true, force: true });
  const m = fx.writeSessionsFolder(sessionsDir, SESSIONS, { seed: SEED, now: NOW, invalidNameFiles: ['bad name!.jsonl'] });
  const portable = { ...m, sessionsDir: 'sessions', journalDir: 'sessions/_turn_journal' };
  // NaN is not JSON: the manifest keeps createdAtRaw ("NaN") and writes createdAt as null there.
  fs.writeFileSync(path.join(target, 'manifest.json'), JSON.stringify(portable, null, 2) + '\n');
  return m;
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

const fx = loadFixtures();
if (process.argv.includes('--check')) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-demo-check-'));
  try {
    generate(fx, tmp);
    const want = ['manifest.json', ...listFiles(path.join(tmp, 'sessions')).map((f) => `sessions/${f}`)];
    const have = ['manifest.json', ...listFiles(path.join(DEMO, 'sessions')).map((f) => `sessions/${f}`)];
    const diffs = [];
    if (JSON.stringify(want) !== JSON.stringify(have)) diffs.push(`file lists differ:\n  want ${want.join(', ')}\n  have ${have.join(', ')}`);
    for (const f of want) {
      const a = path.join(tmp, f);
      const b = path.join(DEMO, f);
      if (!fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b))) diffs.push(`differs: demo/${f}`);
    }
    if (diffs.length) {
      console.error(`demo is out of date (run: node scripts/make-demo.mjs)\n${diffs.join('\n')}`);
      process.exit(1);
    }
    console.log('demo/ is up to date');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
} else {
  const m = generate(fx, DEMO);
  for (const s of m.sessions) {
    console.log(
      `${s.id}  ${s.healthy ? 'healthy ' : 'ANOMALY '} ${s.title}  [${s.anomalies.join(', ')}]${s.upstream.error ? `  upstream raises ${s.upstream.error}` : ''}`,
    );
  }
  console.log(
    `${m.totals.sessions} sessions, ${m.totals.shards} shards, ${m.totals.turns} turns, ${m.totals.validEvents} valid events, ${m.totals.malformedLines} malformed lines, invalid names: ${m.invalidNameFiles.join(', ')}`,
  );
}
